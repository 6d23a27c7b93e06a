"""Read a GGUF file: checked on open, metadata by key, tensors dequantized to float32 NumPy arrays.

``gguf.quants.dequantize`` (NumPy) is used for every tensor type because ``mx.load`` cannot read
Q5_0 and dequantizes Q4_K wrongly (issue 9: perplexity 12 → 680 on the same file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evotr.infrastructure.models.errors import MissingExtraError, ModelImportError

MAGIC = b"GGUF"
AGAIN = "assemble or download it again"


def _gguf() -> Any:
    try:
        import gguf
    except ImportError as exc:  # the optional extra is not installed
        raise MissingExtraError("gguf", "reading a GGUF file") from exc
    return gguf


def _reader(path: Path) -> Any:
    """``gguf.GGUFReader`` reading through a plain NumPy view of its memory map.

    The reader parses the metadata one value at a time with slices of an ``np.memmap``; every
    slice of that subclass runs ``memmap.__array_finalize__``, and Gemma's 262,144-token
    vocabulary makes ~3 million of them: 14 s of the import on the 2-core CPU, 6 s through a
    plain ``ndarray`` view of the same bytes (identical fields and tensors; tested).
    """
    import numpy as np

    class PlainViewReader(_gguf().GGUFReader):  # type: ignore[misc]  # gguf is untyped here
        def _get(self, offset: int, dtype: Any, count: int = 1, override_order: Any = None) -> Any:
            plain = self.__dict__.get("_plain")
            if plain is None:
                plain = self.__dict__["_plain"] = self.data.view(np.ndarray)
            kind = np.dtype(dtype)
            count = int(count)
            arr = plain[offset: offset + kind.itemsize * count].view(dtype=kind)[:count]
            order = self.byte_order if override_order is None else override_order
            return arr.view(arr.dtype.newbyteorder(order))

    return PlainViewReader(str(path))


class GgufFile:
    """One GGUF file opened read-only (memory-mapped); tensors are read one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._check_header()
        try:
            self._reader = _reader(self.path)
        except (ValueError, IndexError, KeyError, OverflowError) as exc:
            # The header was fine, so the rest ran past the end of the file or is corrupt.
            raise ModelImportError(
                f"{self.path}: the GGUF file is truncated or damaged ({_first_line(exc)}); {AGAIN}"
            ) from exc
        self._tensors = {tensor.name: tensor for tensor in self._reader.tensors}
        self._check_sizes()

    def _check_header(self) -> None:
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as handle:
                head = handle.read(4)
        except IsADirectoryError as exc:
            raise ModelImportError(f"{self.path}: is a folder, not a GGUF file; give the .gguf file") from exc
        except FileNotFoundError as exc:
            raise ModelImportError(f"{self.path}: no such file; check the path") from exc
        except OSError as exc:
            raise ModelImportError(
                f"{self.path}: cannot be read ({exc.strerror}); check its permissions") from exc
        if size == 0:
            raise ModelImportError(f"{self.path}: the file is empty, not a GGUF model; {AGAIN}")
        if head != MAGIC:
            raise ModelImportError(
                f"{self.path}: not a GGUF file (it starts with {head!r}, a GGUF file with b'GGUF'); "
                "give a .gguf model file")

    def _check_sizes(self) -> None:
        size = self.path.stat().st_size
        for tensor in self._tensors.values():
            end = int(tensor.data_offset) + int(tensor.n_bytes)
            if end > size:
                raise ModelImportError(
                    f"{self.path}: the GGUF file is truncated (tensor {tensor.name} ends at byte {end}, "
                    f"the file has {size}); {AGAIN}")

    # -- metadata ------------------------------------------------------------------------------

    def value(self, key: str, default: Any = None) -> Any:
        """A scalar or a small array of metadata; ``default`` when the key is absent."""
        field = self._reader.fields.get(key)
        if field is None:
            return default
        return field.contents()

    @property
    def architecture(self) -> str:
        """``general.architecture``, e.g. ``gemma3`` or ``llama``."""
        arch = self.value("general.architecture")
        if not isinstance(arch, str):
            raise ModelImportError(f"{self.path}: the GGUF file names no general.architecture; {AGAIN}")
        return arch

    def arch_value(self, suffix: str, default: Any = None) -> Any:
        """``<architecture>.<suffix>``, e.g. ``arch_value("block_count")``."""
        return self.value(f"{self.architecture}.{suffix}", default)

    def require(self, suffix: str) -> Any:
        """Like :meth:`arch_value`, but a missing key is an error naming it."""
        value = self.arch_value(suffix)
        if value is None:
            raise ModelImportError(f"{self.path}: the GGUF metadata lacks {self.architecture}.{suffix}; "
                                   "the file is incomplete or not a model GGUF")
        return value

    def strings(self, key: str) -> list[str] | None:
        """A large string array (the vocabulary) read fast; ``field.contents()`` takes ~15 s on 262k."""
        field = self._reader.fields.get(key)
        if field is None:
            return None
        return [field.parts[i].tobytes().decode("utf-8", errors="replace") for i in field.data]

    def numbers(self, key: str) -> list[float] | None:
        """A large numeric array (scores, token types) as a Python list."""
        import numpy as np

        field = self._reader.fields.get(key)
        if field is None:
            return None
        if not field.data:
            return []
        values: list[float] = np.concatenate([field.parts[i] for i in field.data]).tolist()
        return values

    # -- tensors -------------------------------------------------------------------------------

    def tensor_names(self) -> list[str]:
        """Every tensor's GGUF name, in file order."""
        return list(self._tensors)

    def has_tensor(self, name: str) -> bool:
        """True when the file holds a tensor called ``name``."""
        return name in self._tensors

    def tensor_type(self, name: str) -> str:
        """The tensor's GGML type name, e.g. ``Q4_K``."""
        return str(self._tensors[name].tensor_type.name)

    def tensor(self, name: str) -> Any:
        """The tensor as a float32 NumPy array in PyTorch/MLX order (rows = output features)."""
        import numpy as np

        tensor = self._tensors.get(name)
        if tensor is None:
            raise ModelImportError(f"{self.path}: the GGUF file has no tensor {name}; it is incomplete or "
                                   "of an unexpected layout")
        quants = _gguf().quants
        try:
            values = quants.dequantize(tensor.data, tensor.tensor_type)
        except NotImplementedError as exc:
            raise ModelImportError(
                f"{self.path}: tensor {name} has type {tensor.tensor_type.name}, which the gguf package "
                "cannot dequantize; convert the model with another quantization") from exc
        shape = tuple(int(d) for d in reversed([int(n) for n in tensor.shape]))
        return np.ascontiguousarray(np.asarray(values, dtype=np.float32).reshape(shape))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
