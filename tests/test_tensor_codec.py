"""Tensors and fragments across the wire: exact round trips, and malformed messages refused."""
import numpy as np
import pytest
import torch

from moredata.rpc.proto import common_pb2
from moredata.rpc.tensor_codec import fragment_from_proto, fragment_to_proto, tensor_from_proto, tensor_to_proto


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64,
                                   torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool])
def test_torch_round_trip(dtype):
    t = (torch.randn(3, 5, 2) * 10).to(dtype)
    msg = common_pb2.Tensor.FromString(tensor_to_proto(t).SerializeToString())
    back = tensor_from_proto(msg)
    assert back.dtype == dtype and back.shape == t.shape and torch.equal(back, t)


def test_non_contiguous_and_empty():
    t = torch.arange(12.0).view(3, 4).t()
    assert torch.equal(tensor_from_proto(tensor_to_proto(t)), t)
    e = tensor_from_proto(tensor_to_proto(torch.zeros(0, 4)))
    assert e.shape == (0, 4)


def test_numpy_big_endian_is_converted():
    a = np.arange(6, dtype=">i4").reshape(2, 3)
    msg = tensor_to_proto(a)
    assert msg.dtype == common_pb2.DTYPE_INT32 and msg.data[:4] == b"\x00\x00\x00\x00" and msg.data[4] == 1
    assert tensor_from_proto(msg).tolist() == a.tolist()


@pytest.mark.parametrize("msg, words", [
    (common_pb2.Tensor(dtype=common_pb2.DTYPE_FLOAT32, shape=[2, 2], data=b"\x00" * 12), "needs 16"),
    (common_pb2.Tensor(dtype=0, shape=[1], data=b"\x00"), "unknown or unspecified"),
    (common_pb2.Tensor(dtype=common_pb2.DTYPE_UINT8, shape=[-1], data=b""), "negative"),
])
def test_malformed_tensor_refused(msg, words):
    with pytest.raises(ValueError, match=words):
        tensor_from_proto(msg)
    with pytest.raises(ValueError, match="exceeds the limit"):
        tensor_from_proto(common_pb2.Tensor(dtype=common_pb2.DTYPE_UINT8, shape=[100], data=b"\x00" * 100), 10)


def test_fragment_round_trip_and_checks():
    ids = np.array([1, 64, 3, 0, 9], dtype=np.uint16)
    msg = fragment_to_proto(ids, model_version=3)
    assert msg.model_version == 3 and len(msg.tokens) == 10
    assert fragment_from_proto(msg, length=5, vocab_size=65).tolist() == ids.tolist()
    with pytest.raises(ValueError, match="expected 6"):
        fragment_from_proto(msg, length=6)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        fragment_from_proto(msg, vocab_size=10)
    with pytest.raises(ValueError, match="whole number"):
        fragment_from_proto(common_pb2.TokenFragment(tokens=b"\x01\x02\x03", dtype=common_pb2.DTYPE_UINT16))
    big = fragment_to_proto(np.array([70000], dtype=np.uint32), 1)
    assert fragment_from_proto(big).tolist() == [70000]
