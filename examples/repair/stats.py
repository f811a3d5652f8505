"""A small module with one bug, for `diffuse repair` (see README): `median` of an even-length list."""


def mean(values):
    total = 0
    for v in values:
        total += v
    return total / len(values)


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2 == 0:
        return (ordered[mid - 1] + ordered[mid]) / 2
    return ordered[mid]


def running_max(values):
    best = values[0]
    out = []
    for v in values:
        if v < best:
            best = v
        out.append(best)
    return out
