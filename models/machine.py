"""Where a number was measured: CPU model, the instruction sets OpenVINO's CPU kernels depend on, cores, OpenVINO.

INT8 and FP16 inference picks different kernels on CPUs with and without AVX-512, VNNI (AVX512-VNNI or AVX-VNNI)
and AMX, so scores differ slightly between CPU families; accuracy documents and benchmark tables print
``describe()`` next to their numbers (``python -m models.machine`` prints it alone).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from dataclasses import dataclass
from pathlib import Path

# /proc/cpuinfo flag -> name, in the order printed; several flags may give the same name
ISA_FLAGS: tuple[tuple[str, str], ...] = (
    ("avx2", "AVX2"),
    ("avx512f", "AVX-512"),
    ("avx512_vnni", "VNNI"),
    ("avx_vnni", "VNNI"),
    ("amx_int8", "AMX"),
    ("amx_bf16", "AMX"),
)
ISA_NAMES: tuple[str, ...] = ("AVX2", "AVX-512", "VNNI", "AMX")


@dataclass(frozen=True)
class Machine:
    cpu: str
    isa: tuple[str, ...] | None  # the ISA_NAMES this CPU has; None when the flags cannot be read
    cores: int  # logical CPUs this process may use
    openvino: str

    def __str__(self) -> str:
        if self.isa is None:
            isa = "ISA unknown"
        else:
            missing = [n for n in ISA_NAMES if n not in self.isa]
            isa = ", ".join(self.isa) or "no AVX2"
            if self.isa and missing:
                isa += ", no " + "/".join(missing)
        return f"{self.cpu} ({isa}), {self.cores} cores, OpenVINO {self.openvino}"


def _cpuinfo(text: str) -> tuple[str | None, set[str] | None]:
    model, flags = None, None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = " ".join(value.split())
        elif key == "flags" and flags is None:
            flags = set(value.split())
    return model, flags


def isa_from_flags(flags: set[str]) -> tuple[str, ...]:
    seen = {name for flag, name in ISA_FLAGS if flag in flags}
    return tuple(n for n in ISA_NAMES if n in seen)


def describe(cpuinfo: Path = Path("/proc/cpuinfo")) -> Machine:
    """The machine this process runs on (reads /proc/cpuinfo where there is one; imports nothing heavy)."""
    try:
        model, flags = _cpuinfo(cpuinfo.read_text(errors="replace"))
    except OSError:
        model, flags = None, None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        openvino = importlib.metadata.version("openvino")
    except importlib.metadata.PackageNotFoundError:
        openvino = "not installed"
    return Machine(cpu=model or platform.processor() or platform.machine() or "unknown CPU",
                   isa=None if flags is None else isa_from_flags(flags), cores=cores, openvino=openvino)


if __name__ == "__main__":
    print(describe())
