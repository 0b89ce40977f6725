"""The languages the code builder reads: file extensions, grammars and tree-sitter queries.

Grammars come from the per-language `tree-sitter-<lang>` wheels, which carry compiled parsers: nothing is
fetched at run time. Each language names the queries that find its functions (with their body node), its
class-like definitions (with their member list) and its comments; everything else in the builder is
language-neutral and works on the captured nodes.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import tree_sitter as ts

# extension -> language name; `.h` is read as C (a C++ header still parses, with a few ERROR nodes)
EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}

_JS_FUNCTIONS = """
[(function_declaration name: (_) @name body: (statement_block) @body)
 (generator_function_declaration name: (_) @name body: (statement_block) @body)
 (method_definition name: (_) @name body: (statement_block) @body)
 (variable_declarator name: (identifier) @name value: [(arrow_function body: (statement_block) @body)
                                                       (function_expression body: (statement_block) @body)])] @def
"""
_C_FUNCTIONS = "(function_definition declarator: (_) @name body: (compound_statement) @body) @def"

_FUNCTIONS = {
    "python": "(function_definition name: (identifier) @name body: (block) @body) @def",
    "javascript": _JS_FUNCTIONS,
    "typescript": _JS_FUNCTIONS,
    "tsx": _JS_FUNCTIONS,
    "go": """[(function_declaration name: (_) @name body: (block) @body)
              (method_declaration name: (_) @name body: (block) @body)] @def""",
    "rust": "(function_item name: (_) @name body: (block) @body) @def",
    "java": """[(method_declaration name: (_) @name body: (block) @body)
                (constructor_declaration name: (_) @name body: (constructor_body) @body)] @def""",
    "c": _C_FUNCTIONS,
    "cpp": _C_FUNCTIONS,
}
_JS_CLASSES = "(class_declaration name: (_) @name body: (class_body) @body) @def"
_CLASSES = {
    "python": "(class_definition name: (identifier) @name body: (block) @body) @def",
    "javascript": _JS_CLASSES,
    "typescript": """[(class_declaration name: (_) @name body: (class_body) @body)
                      (abstract_class_declaration name: (_) @name body: (class_body) @body)] @def""",
    "tsx": _JS_CLASSES,
    "go": "(type_spec name: (_) @name type: (struct_type (field_declaration_list) @body)) @def",
    "rust": """[(impl_item type: (_) @name body: (declaration_list) @body)
                (trait_item name: (_) @name body: (declaration_list) @body)
                (struct_item name: (_) @name body: (field_declaration_list) @body)] @def""",
    "java": """[(class_declaration name: (_) @name body: (class_body) @body)
                (interface_declaration name: (_) @name body: (interface_body) @body)
                (enum_declaration name: (_) @name body: (enum_body) @body)] @def""",
    "c": "(struct_specifier name: (_) @name body: (field_declaration_list) @body) @def",
    "cpp": """[(class_specifier name: (_) @name body: (field_declaration_list) @body)
               (struct_specifier name: (_) @name body: (field_declaration_list) @body)] @def""",
}
_COMMENT_TYPES = {
    "rust": ("line_comment", "block_comment"),
    "java": ("line_comment", "block_comment"),
}
# the node types that hold string literals, so augmentations can prove they never touched one
STRING_TYPES = frozenset({
    "string", "string_content", "template_string", "interpreted_string_literal", "raw_string_literal",
    "string_literal", "char_literal", "character_literal", "text_block",
})
# code_type words the instruction templates use
CODE_TYPE = {"function": "function", "class": "class", "docstring": "function", "fallback": "code"}
DISPLAY = {"python": "Python", "javascript": "JavaScript", "typescript": "TypeScript", "tsx": "TypeScript",
           "go": "Go", "rust": "Rust", "java": "Java", "c": "C", "cpp": "C++"}
LANGUAGES = tuple(_FUNCTIONS)


def comment_types(language: str) -> tuple[str, ...]:
    return _COMMENT_TYPES.get(language, ("comment",))


def language_for(path: str) -> str | None:
    """The language of a file by its extension, or None when the builder does not read it."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


def _grammar(language: str):
    if language == "python":
        import tree_sitter_python as m
        return m.language()
    if language in ("javascript",):
        import tree_sitter_javascript as m
        return m.language()
    if language in ("typescript", "tsx"):
        import tree_sitter_typescript as m
        return m.language_typescript() if language == "typescript" else m.language_tsx()
    if language == "go":
        import tree_sitter_go as m
        return m.language()
    if language == "rust":
        import tree_sitter_rust as m
        return m.language()
    if language == "java":
        import tree_sitter_java as m
        return m.language()
    if language == "c":
        import tree_sitter_c as m
        return m.language()
    if language == "cpp":
        import tree_sitter_cpp as m
        return m.language()
    raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")


# Query matches start only at nodes this deep (root = 0): a method in a class in a namespace is at 3-5;
# closures nested deeper are not sampled. Bounding the start depth makes the query skip function bodies,
# which is most of a tree (about 2x faster on Go and Rust); Python's grammar is cheap to search whole.
MAX_START_DEPTH = {"python": None}
DEFAULT_START_DEPTH = 6


@dataclass(frozen=True)
class Grammar:
    """One language's parser and compiled queries (built once per process: see `grammar`)."""

    name: str
    language: ts.Language
    definitions: ts.Query  # functions (@fn, @body, @name) and classes (@cls, @body, @name) in one pass
    comments: ts.Query

    def matches(self, root: ts.Node) -> list[tuple[int, dict]]:
        cursor = ts.QueryCursor(self.definitions)
        depth = MAX_START_DEPTH.get(self.name, DEFAULT_START_DEPTH)
        if depth is not None:
            cursor.set_max_start_depth(depth)
        return cursor.matches(root)

    def parser(self) -> ts.Parser:
        return ts.Parser(self.language)


@functools.lru_cache(maxsize=None)
def grammar(language: str) -> Grammar:
    lang = ts.Language(_grammar(language))
    comments = " ".join(f"({t})" for t in comment_types(language))
    definitions = _FUNCTIONS[language].replace("@def", "@fn") + "\n" + _CLASSES[language].replace("@def", "@cls")
    return Grammar(language, lang, ts.Query(lang, definitions), ts.Query(lang, f"[{comments}] @comment"))


@functools.lru_cache(maxsize=None)
def parser(language: str) -> ts.Parser:
    return grammar(language).parser()
