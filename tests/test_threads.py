"""What the CPU backend's threads share and what each keeps to itself."""
import numpy as np

from wordvec.backend import CACHE_LINE, make_scratch


def _lines(array: np.ndarray) -> set[int]:
    """The cache lines ``array``'s bytes lie on."""
    first = array.ctypes.data
    return set(range(first // CACHE_LINE, (first + max(array.nbytes, 1) - 1) // CACHE_LINE + 1))


def test_no_two_scratch_arrays_share_a_cache_line():
    """Each thread writes its scratch for every example: an array of one thread on
    a cache line of another's would bounce between the cores (false sharing)."""
    spaces = [make_scratch(seed, 100, 5, 6) for seed in np.random.SeedSequence(1).spawn(3)]
    seen: dict[int, str] = {}
    for thread, scratch in enumerate(spaces):
        for name, array in scratch._asdict().items():
            assert array.ctypes.data % CACHE_LINE == 0, name
            for line in _lines(array):
                assert line not in seen, f"thread {thread}'s {name} shares a line with {seen[line]}"
                seen[line] = f"thread {thread}'s {name}"


def test_scratch_arrays_keep_their_contents_and_types():
    scratch = make_scratch(np.random.SeedSequence(7), 10, 3, 4)
    assert scratch.rng[0] == np.random.SeedSequence(7).generate_state(1, np.uint64)[0]
    assert scratch.hidden.dtype == np.float32 and scratch.hidden.shape == (10,)
    assert scratch.position_steps.shape == (6, 10) and scratch.position_steps.flags.c_contiguous
    assert (scratch.table_rows == -1).all()
