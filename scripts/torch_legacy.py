"""Read a legacy (pre-1.6, non-zip) torch.save file of tensors without torch.

The legacy format is a sequence of pickles followed by raw storage bytes:

  1. the magic number 0x1950A86A20F9469CFC6C,
  2. the protocol version (1001),
  3. a sys-info dict (byte order, sizes of short/int/long),
  4. the saved object (here a state dict) whose tensors refer to storages by
     persistent id ("storage", StorageClass, key, location, numel[, view]),
  5. the list of storage keys in the order their bytes follow,
  6. for each key: an int64 element count, then that many elements.

Only the classes a plain state dict needs are accepted
(torch._utils._rebuild_tensor_v2, collections.OrderedDict and the
torch.*Storage types); anything else makes the load fail, so a crafted file
cannot run code.

    state = load_state_dict(Path("model.pth"))   # {name: np.ndarray}
    state = load_state_dict_bytes(data)           # the same, from bytes
"""

import collections
import io
import pickle
import struct

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class LegacyFormatError(Exception):
    """The file is not a legacy torch state dict this reader accepts."""


class StorageType:
    """Stands in for a torch.*Storage class: only its element dtype matters."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name]).newbyteorder("<")


class PendingTensor:
    """A tensor whose storage bytes come after the pickles; resolved later."""

    def __init__(self, storage_key, offset, shape, stride):
        self.storage_key = storage_key
        self.offset = offset
        self.shape = tuple(shape)
        self.stride = tuple(stride)


class StorageRef:
    """What a persistent id resolves to while the object pickle is read."""

    def __init__(self, key, storage_type, numel):
        self.key = key
        self.storage_type = storage_type
        self.numel = numel


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                      backward_hooks=None, metadata=None):
    """Record the view of a storage that torch._utils._rebuild_tensor_v2 would build."""
    del requires_grad, backward_hooks, metadata
    if not isinstance(storage, StorageRef):
        raise LegacyFormatError("tensor does not refer to a storage")
    return PendingTensor(storage.key, storage_offset, size, stride)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only resolves the few globals a legacy state dict uses."""

    def __init__(self, file, storages=None):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        raise LegacyFormatError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid):
        if self.storages is None:
            raise LegacyFormatError("unexpected persistent id outside the object pickle")
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise LegacyFormatError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel = pid[:5]
        if len(pid) > 5 and pid[5] is not None:
            raise LegacyFormatError("storage views are not supported")
        if not isinstance(storage_type, StorageType):
            raise LegacyFormatError("persistent id without a storage type")
        ref = self.storages.setdefault(key, StorageRef(key, storage_type, numel))
        return ref


def read_storages(stream, keys, refs):
    """Read the raw storages that follow the pickles: {key: 1-D array}."""
    arrays = {}
    for key in keys:
        if key not in refs:
            raise LegacyFormatError(f"storage {key} is not used by any tensor")
        ref = refs[key]
        header = stream.read(8)
        if len(header) != 8:
            raise LegacyFormatError(f"truncated file at storage {key}")
        (numel,) = struct.unpack("<q", header)
        if numel != ref.numel:
            raise LegacyFormatError(f"storage {key}: {numel} elements, expected {ref.numel}")
        nbytes = numel * ref.storage_type.dtype.itemsize
        data = stream.read(nbytes)
        if len(data) != nbytes:
            raise LegacyFormatError(f"truncated file in storage {key}")
        arrays[key] = np.frombuffer(data, dtype=ref.storage_type.dtype)
    return arrays


def materialise(pending, storages):
    """Turn a PendingTensor into a contiguous numpy array."""
    flat = storages[pending.storage_key]
    if not pending.shape:
        return flat[pending.offset].copy()
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[pending.offset:], shape=pending.shape,
        strides=[s * item for s in pending.stride], writeable=False)
    return np.ascontiguousarray(view).astype(flat.dtype.newbyteorder("="))


def load_state_dict(path):
    """Load a legacy torch state dict file as an ordered {name: np.ndarray}."""
    return load_state_dict_bytes(path.read_bytes(), str(path))


def load_state_dict_bytes(data, path="<bytes>"):
    """Load a legacy torch state dict from its bytes; path only names it in errors."""
    try:
        return parse_legacy(io.BytesIO(data), path)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise LegacyFormatError(f"{path}: not a readable legacy torch file ({err})") from err


def parse_legacy(stream, path):
    """Read the pickles and storages of a legacy torch file from a byte stream."""
    if RestrictedUnpickler(stream).load() != MAGIC_NUMBER:
        raise LegacyFormatError(f"{path}: not a legacy torch file (bad magic number)")
    version = RestrictedUnpickler(stream).load()
    if version != PROTOCOL_VERSION:
        raise LegacyFormatError(f"{path}: protocol version must be {PROTOCOL_VERSION}, got {version}")
    sys_info = RestrictedUnpickler(stream).load()
    if not sys_info.get("little_endian", False):
        raise LegacyFormatError(f"{path}: only little-endian files are supported")
    refs = {}
    state = RestrictedUnpickler(stream, refs).load()
    keys = RestrictedUnpickler(stream).load()
    storages = read_storages(stream, keys, refs)
    if stream.read(1):
        raise LegacyFormatError(f"{path}: unexpected bytes after the last storage")
    if not isinstance(state, dict):
        raise LegacyFormatError(f"{path}: the saved object is not a state dict")
    out = collections.OrderedDict()
    for name, value in state.items():
        if not isinstance(value, PendingTensor):
            raise LegacyFormatError(f"{path}: entry {name} is not a tensor")
        out[name] = materialise(value, storages)
    return out
