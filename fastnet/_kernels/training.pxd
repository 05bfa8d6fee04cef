# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The vocabulary of the entry points (training.pyx): costs and activations, by number.

fastnet.costs and fastnet.activations map their classes and names onto these.
"""

cpdef enum Cost:
    # The output error each cost gives.
    CROSS_ENTROPY = 0     # delta^L = a - y                (sigmoid output)
    QUADRATIC = 1         # delta^L = (a - y) * sigma'(z)  (sigmoid output)
    LOG_LIKELIHOOD = 2    # delta^L = a - y                (softmax output: C = -ln a_y)


cpdef enum Activation:
    # What a layer computes from z = W a + b.
    SIGMOID = 0           # 1 / (1 + exp(-z)): network2's, hidden and output layers
    TANH = 1              # tanh(z): hidden layers
    RELU = 2              # max(0, z): hidden layers
    SOFTMAX = 3           # exp(z_j) / sum_k exp(z_k) over a row: the output layer
