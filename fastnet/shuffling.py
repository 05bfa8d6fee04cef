"""network2's ``random.shuffle(training_data)``, replayed on positions at compiled speed.

network2 shuffles its list in place at the start of every epoch.  fastnet
needs the same permutation, and must leave the generator exactly where that
shuffle would have left it, so that the same seeds give the same run.
"""
import numpy as np

from fastnet._kernels.training import shuffle_positions


def shuffled_positions(n, generator):
    """The permutation ``generator.shuffle`` would apply to a list of length n.

    ``generator`` is the ``random`` module or a ``random.Random``; its state
    advances exactly as that shuffle would advance it.  random.shuffle draws
    the same numbers for any list of a given length, so the permutation is
    all that matters: position k of the shuffled list holds the item that
    was at ``positions[k]``.  CPython's generator is MT19937, which NumPy has
    too: NumPy draws the 32-bit words, the kernel replays shuffle's use of
    them, and the generator is moved on by as many words.  Any other state
    format falls back to shuffling a Python list.
    """
    version, internal, gauss_next = generator.getstate()
    if version != 3 or len(internal) != 625 or n < 2 or n > 2 ** 31:
        positions = list(range(n))
        generator.shuffle(positions)
        return np.array(positions, dtype=np.intp)
    start = {"bit_generator": "MT19937",
             "state": {"key": np.array(internal[:624], dtype=np.uint32), "pos": internal[624]}}
    words = np.random.MT19937()
    wanted = 2 * n + 64          # each draw is accepted with probability > 1/2
    while True:
        words.state = start
        positions = np.arange(n, dtype=np.intp)
        used = shuffle_positions(words.random_raw(wanted), positions)
        if used >= 0:
            break
        wanted *= 2
    words.state = start
    words.random_raw(used)
    end = words.state["state"]
    generator.setstate((version, tuple(end["key"].tolist()) + (int(end["pos"]),), gauss_next))
    return positions
