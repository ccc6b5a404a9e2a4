"""Where a result was measured, as files record it and pages print it."""
from barlow_lib import provenance

ZEN2 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n"
ZEN4 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni avx512_bf16\n"


def test_one_cpu_name_with_and_without_avx512_is_told_apart_by_its_vector_instructions():
    assert provenance.cpu_vectors(ZEN2) == "AVX2"
    assert provenance.cpu_vectors(ZEN4) == "AVX-512 with BF16"
    assert provenance.cpu_vectors(ZEN4.replace(" avx512_bf16", "")) == "AVX-512"
    assert provenance.cpu_vectors("flags\t: fpu sse2\n") == "no AVX2"
    assert provenance.cpu_vectors("model name\t: an ARM CPU\n") is None  # no flags line: nothing claimed


def test_the_printed_line_names_the_vector_instructions_where_the_file_has_them():
    p = {"cpu": "AMD EPYC", "cpu_count": 2, "commit": "abc", "keras": "3.15.1", "backend": "tensorflow"}
    assert "AMD EPYC (2 cores);" in provenance.describe(p)  # a file from before the field
    assert "AMD EPYC (2 cores, AVX2);" in provenance.describe(dict(p, cpu_vectors="AVX2"))
    assert "cpu_vectors" in provenance.collect()
