"""network2's ``random.shuffle(training_data)``, replayed on positions at compiled speed.

network2 shuffles its list in place at the start of every epoch.  fastnet
needs the same permutation, and must leave the generator exactly where that
shuffle would have left it, so that the same seeds give the same run.
"""
import random

import numpy as np

from fastnet._kernels.training import shuffle_positions


def shuffled_positions(n, generator):
    """The permutation ``generator.shuffle`` would apply to a list of length n.

    ``generator`` is the ``random`` module or a ``random.Random``; its state
    advances exactly as that shuffle would advance it.  random.shuffle draws
    the same numbers for any list of a given length, so the permutation is
    all that matters: position k of the shuffled list holds the item that
    was at ``positions[k]``.

    The shuffle's draws are ``getrandbits(k)``, k <= 32, each one 32-bit word
    of the generator's Mersenne Twister.  Here the generator hands over its
    words in bulk (``getrandbits(32 * m)`` is m words, least significant
    first) and the kernel replays the swaps with them.  A swap takes at least
    one word, so asking for as many words as swaps remain never takes one too
    many; a few rounds finish the shuffle.  Generators whose draws work
    otherwise (subclasses, SystemRandom) shuffle a Python list instead.
    """
    if n < 2:
        return np.arange(n, dtype=np.intp)
    if not (type(generator) is random.Random or generator is random) or n > 2 ** 32:
        positions = list(range(n))
        generator.shuffle(positions)
        return np.array(positions, dtype=np.intp)
    positions = np.arange(n, dtype=np.intp)
    top = n - 1
    while top > 0:
        words = np.frombuffer(generator.getrandbits(32 * top).to_bytes(4 * top, "little"),
                              dtype="<u4")
        top = shuffle_positions(np.ascontiguousarray(words, dtype=np.uint32), positions, top)
    return positions
