"""Design-space exploration: samplers, storage, the ask-evaluate-tell loop, Pareto fronts.

The only package that talks to optuna. The public entry point is :func:`codesign.search`.
"""
