"""Tensors and token fragments <-> protobuf messages, validated on arrival.

A Tensor crosses the wire as {dtype, shape, raw little-endian bytes}; `tensor_from_proto` refuses a
message whose byte count does not match its shape and dtype (a ValueError, which the gRPC error
interceptor turns into INVALID_ARGUMENT). Nothing here unpickles.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from moredata.errors import InvalidArgument
from moredata.rpc.proto import common_pb2

# proto dtype <-> (torch dtype, numpy dtype or None when numpy has no such type)
_DTYPES = {
    common_pb2.DTYPE_FLOAT32: (torch.float32, np.dtype("<f4")),
    common_pb2.DTYPE_FLOAT16: (torch.float16, np.dtype("<f2")),
    common_pb2.DTYPE_BFLOAT16: (torch.bfloat16, None),
    common_pb2.DTYPE_FLOAT64: (torch.float64, np.dtype("<f8")),
    common_pb2.DTYPE_INT64: (torch.int64, np.dtype("<i8")),
    common_pb2.DTYPE_INT32: (torch.int32, np.dtype("<i4")),
    common_pb2.DTYPE_INT16: (torch.int16, np.dtype("<i2")),
    common_pb2.DTYPE_INT8: (torch.int8, np.dtype("i1")),
    common_pb2.DTYPE_UINT8: (torch.uint8, np.dtype("u1")),
    common_pb2.DTYPE_UINT16: (torch.uint16, np.dtype("<u2")),
    common_pb2.DTYPE_UINT32: (torch.uint32, np.dtype("<u4")),
    common_pb2.DTYPE_BOOL: (torch.bool, np.dtype("?")),
}
_FROM_TORCH = {t: p for p, (t, _) in _DTYPES.items()}
_FROM_NUMPY = {n: p for p, (_, n) in _DTYPES.items() if n is not None}


def _itemsize(dtype: int) -> int:
    return torch.empty((), dtype=_DTYPES[dtype][0]).element_size()


def tensor_to_proto(t: torch.Tensor | np.ndarray) -> common_pb2.Tensor:
    """Encodes a CPU/GPU tensor or a numpy array (copied to contiguous little-endian bytes)."""
    if isinstance(t, np.ndarray):
        arr = np.ascontiguousarray(t)
        target = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype  # values kept by astype
        if target not in _FROM_NUMPY:
            raise InvalidArgument(f"unsupported numpy dtype {arr.dtype}")
        return common_pb2.Tensor(dtype=_FROM_NUMPY[target], shape=list(arr.shape), data=arr.astype(target, copy=False).tobytes())
    if t.dtype not in _FROM_TORCH:
        raise InvalidArgument(f"unsupported torch dtype {t.dtype}")
    t = t.detach().contiguous().cpu()
    # reinterpret as bytes through uint8 (works for bfloat16, which numpy lacks); x86/ARM hosts are little-endian
    data = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return common_pb2.Tensor(dtype=_FROM_TORCH[t.dtype], shape=list(t.shape), data=data)


def _checked_shape(msg: common_pb2.Tensor, max_elements: int | None) -> tuple[tuple[int, ...], int]:
    """Validates dtype, shape, element limit and byte count; returns (shape, element count)."""
    if msg.dtype not in _DTYPES:
        raise InvalidArgument(f"tensor dtype {msg.dtype} is unknown or unspecified")
    shape = tuple(msg.shape)
    if any(d < 0 for d in shape):
        raise InvalidArgument(f"tensor shape {list(shape)} has a negative dimension")
    n = math.prod(shape)
    if max_elements is not None and n > max_elements:
        raise InvalidArgument(f"tensor of {n} elements exceeds the limit of {max_elements}")
    expected = n * _itemsize(msg.dtype)
    if len(msg.data) != expected:
        raise InvalidArgument(f"tensor data is {len(msg.data)} bytes, shape {list(shape)} needs {expected}")
    return shape, n


def tensor_from_proto(msg: common_pb2.Tensor, max_elements: int | None = None) -> torch.Tensor:
    """Decodes and validates: known dtype, non-negative shape, byte count matching shape x itemsize."""
    shape, n = _checked_shape(msg, max_elements)
    tdtype = _DTYPES[msg.dtype][0]
    if n == 0:
        return torch.empty(shape, dtype=tdtype)
    raw = torch.frombuffer(bytearray(msg.data), dtype=torch.uint8)
    return raw.view(tdtype).reshape(shape)


def array_from_proto(msg: common_pb2.Tensor, max_elements: int | None = None) -> np.ndarray:
    """Like tensor_from_proto, as a read-only numpy view of the message's bytes (one copy fewer: for
    large payloads whose consumers only read). bfloat16, which numpy lacks, is refused."""
    shape, _ = _checked_shape(msg, max_elements)
    dt = _DTYPES[msg.dtype][1]
    if dt is None:
        raise InvalidArgument(f"tensor dtype {common_pb2.DType.Name(msg.dtype)} has no numpy equivalent")
    return np.frombuffer(msg.data, dtype=dt).reshape(shape)


def fragment_to_proto(tokens: np.ndarray, model_version: int) -> common_pb2.TokenFragment:
    """tokens: 1-D uint16/uint32 ids (block_size + 1 of them)."""
    arr = np.ascontiguousarray(tokens)
    if arr.dtype == np.uint16:
        dtype = common_pb2.DTYPE_UINT16
    elif arr.dtype == np.uint32:
        dtype = common_pb2.DTYPE_UINT32
    else:
        raise InvalidArgument(f"fragment tokens must be uint16 or uint32, got {arr.dtype}")
    return common_pb2.TokenFragment(tokens=arr.astype(arr.dtype.newbyteorder("<")).tobytes(), dtype=dtype,
                                    model_version=model_version)


def fragment_from_proto(msg: common_pb2.TokenFragment, length: int | None = None,
                        vocab_size: int | None = None) -> np.ndarray:
    """Decodes a fragment to int64 ids, checking width, length and (optionally) the id range."""
    if msg.dtype == common_pb2.DTYPE_UINT16:
        dt = np.dtype("<u2")
    elif msg.dtype == common_pb2.DTYPE_UINT32:
        dt = np.dtype("<u4")
    else:
        raise InvalidArgument(f"fragment dtype must be UINT16 or UINT32, got {msg.dtype}")
    if len(msg.tokens) % dt.itemsize:
        raise InvalidArgument(f"fragment of {len(msg.tokens)} bytes is not a whole number of {dt.name} ids")
    ids = np.frombuffer(msg.tokens, dtype=dt).astype(np.int64)
    if length is not None and ids.size != length:
        raise InvalidArgument(f"fragment holds {ids.size} tokens, expected {length}")
    if vocab_size is not None and ids.size and ids.max() >= vocab_size:
        raise InvalidArgument(f"fragment token id {int(ids.max())} is outside the vocabulary ({vocab_size})")
    return ids
