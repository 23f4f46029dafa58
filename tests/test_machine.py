"""models.machine: the CPU line printed beside accuracy and benchmark numbers."""

from __future__ import annotations

import pytest

from models.machine import Machine, describe

EPYC = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx avx2 fma\n\nprocessor\t: 1\n"
SPR = ("model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
       "flags\t\t: avx2 avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8\n")
ALDER = "model name\t: 12th Gen Intel(R) Core(TM) i5-12400\nflags\t\t: sse4_2 avx avx2 avx_vnni\n"
OLD = "model name\t: Intel(R) Atom(TM) CPU D525\nflags\t\t: sse sse2 ssse3\n"
ARM = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\n"


@pytest.mark.parametrize("cpuinfo, cpu, isa, line", [
    (EPYC, "AMD EPYC 7B13", ("AVX2",), "AMD EPYC 7B13 (AVX2, no AVX-512/VNNI/AMX)"),
    (SPR, "Intel(R) Xeon(R) Platinum 8480+", ("AVX2", "AVX-512", "VNNI", "AMX"),
     "Intel(R) Xeon(R) Platinum 8480+ (AVX2, AVX-512, VNNI, AMX)"),
    (ALDER, "12th Gen Intel(R) Core(TM) i5-12400", ("AVX2", "VNNI"),
     "12th Gen Intel(R) Core(TM) i5-12400 (AVX2, VNNI, no AVX-512/AMX)"),
    (OLD, "Intel(R) Atom(TM) CPU D525", (), "Intel(R) Atom(TM) CPU D525 (no AVX2)"),
])
def test_cpu_and_isa_from_cpuinfo(tmp_path, cpuinfo, cpu, isa, line):
    p = tmp_path / "cpuinfo"
    p.write_text(cpuinfo)
    m = describe(p)
    assert (m.cpu, m.isa) == (cpu, isa)
    assert str(m).startswith(line + f", {m.cores} cores, OpenVINO ")


def test_unreadable_cpuinfo_still_describes_the_machine(tmp_path):
    m = describe(tmp_path / "missing")
    assert m.isa is None and m.cpu and m.cores >= 1 and "ISA unknown" in str(m)


def test_cpuinfo_without_flags(tmp_path):
    p = tmp_path / "cpuinfo"
    p.write_text(ARM)
    assert describe(p).isa is None  # no flags line: unknown, not "no AVX2"


def test_this_machine():
    m = describe()
    assert isinstance(m, Machine) and m.cores >= 1 and m.openvino != "not installed"
