# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""random.shuffle's swaps, replayed on positions with its generator's words (fastnet.shuffling)."""
from libc.stdint cimport uint32_t, uint64_t


cdef Py_ssize_t shuffle_with_words(const uint32_t* words, Py_ssize_t available,
                                   Py_ssize_t* positions, Py_ssize_t top) noexcept nogil:
    """Fisher-Yates exactly as CPython's random.shuffle, fed its generator's 32-bit words.

    random.shuffle swaps x[i] with x[j], i = n-1 .. 1, where j = _randbelow(i+1):
    draw getrandbits(k) = word >> (32 - k), k = (i+1).bit_length(), until it is
    <= i.  This does the swaps for i = top, top-1, ... while words last and
    returns the i it stopped at (0 when the shuffle is done): a rejected draw's
    word is used up all the same, so the next call goes on from there with
    new words.

    A word is rejected about a third of the time, at random, so a branch on
    it would be mispredicted often: instead every word makes a swap, of x[i]
    with itself when it is rejected, and i moves on only when it is accepted.
    """
    cdef Py_ssize_t i = top, used, j, swap
    cdef uint32_t drawn
    cdef bint accepted
    cdef int bits = 0
    while bits < 63 and ((<uint64_t> 1) << bits) <= <uint64_t> (top + 1):
        bits += 1                     # bits = (top + 1).bit_length()
    for used in range(available):
        if i == 0:
            break
        drawn = words[used] >> (32 - bits)
        accepted = drawn <= <uint64_t> i
        j = <Py_ssize_t> drawn if accepted else i
        swap = positions[i]
        positions[i] = positions[j]
        positions[j] = swap
        i -= accepted
        # keep bits = (i + 1).bit_length()
        bits -= ((<uint64_t> 1) << (bits - 1)) > <uint64_t> (i + 1)
    return i


def shuffle_positions(const uint32_t[::1] words, Py_ssize_t[::1] positions, Py_ssize_t top):
    """Go on with random.shuffle's swaps of `positions` from index `top` down, with `words`.

    Returns where it stopped (0: done).  Needs top < 2**32, so that every draw
    takes one 32-bit word.
    """
    cdef Py_ssize_t stopped
    if top < 1:
        return 0
    if words.shape[0] == 0:
        return top
    with nogil:
        stopped = shuffle_with_words(&words[0], words.shape[0], &positions[0], top)
    return stopped
