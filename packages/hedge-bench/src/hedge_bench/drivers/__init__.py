"""hedge-bench's drivers, one module per adapter (see :mod:`hedge_bench._driver`).

Each module defines ``DRIVER``, registered in the ``hedge_bench.drivers``
entry-point group, and imports its framework only when a client is opened.
To benchmark a new adapter, copy the smallest module here.
"""
