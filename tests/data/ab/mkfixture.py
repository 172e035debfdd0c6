#!/usr/bin/env python3
"""Write the `kvmio compare --max-regression` fixture result directories next to this script
(matrix.tsv and results.csv each, docs/run.md). Fixed seed: the output is the same on every run.

slower/  virtio-blk on null-co, irq=poll (c001, the A side), irq=msix (c002: IOPS 5 % lower)
         and irq=intx (c003: IOPS 4 % higher); 8 repeats each, CV 0.5 %. c002 against c001 is a
         regression beyond 3 % but not beyond 10 %; c003 is an improvement.
noisy/   the same A and B with 5 repeats and CV 10 %: B's median is lower, but the U test
         cannot tell them apart at p < 0.01.
qemu-slower/  two QEMU builds (qemu=old, qemu=new) on ide and virtio-blk, 8 repeats each, CV
         0.5 %: new is 10 % slower on virtio-blk (a planted regression), the same on ide.
qemu-same/    the same builds, new within 0.5 % of old everywhere: no regression."""
import os, random

HERE = os.path.dirname(os.path.abspath(__file__))
TSC = 2000000000
COMMON = [("accel", "tcg"), ("backend", "null"), ("bench", "disk"), ("disk", "virtio-blk"),
          ("machine", "pc")]
COLS = ("config,repeat,exit,params,bench,name,ops,total,min,p50,p90,p99,p999,max,mean,tsc_hz,"
        "accel,iops,mbps,frames_s,gbps,acc_op,irq_op,harness,p50_ns,p99_ns,lost,corrupt,flavour")
NAME, BS, OPS = "randread-4k-qd1", 4096, 2000


def params(irq):
    if isinstance(irq, tuple):    # (disk, qemu label): the qemu fixtures
        common = [p for p in COMMON if p[0] != "disk"] + [("disk", irq[0]), ("qemu", irq[1])]
        return ";".join("%s=%s" % p for p in sorted(common))
    return ";".join("%s=%s" % p for p in sorted(COMMON + [("irq", irq)]))


def u_statistic(a, b):
    """Pairs a > b (ties 1/2): the Mann-Whitney U of a."""
    return sum((x > y) + 0.5 * (x == y) for x in a for y in b)


def write(sub, configs, repeats, cv, rng):
    """configs: (id, irq, IOPS factor against 20000). Returns {id: [iops per repeat]}."""
    matrix, rows, iops_of = [], [COLS], {}
    for cid, irq, factor in configs:
        par = params(irq)
        matrix.append("\t".join([cid, "run", "-", par]))
        iops_of[cid] = []
        for rep in range(1, repeats + 1):
            iops = 20000 * factor * (1 + rng.gauss(0, cv))
            iops_of[cid].append(round(iops, 1))
            mean = TSC / iops               # cycles per operation
            m = int(mean / 1.04)            # p50
            total = int(mean * OPS)
            row = [cid, str(rep), "0", '"%s"' % par, "disk", NAME, str(OPS), str(total),
                   str(int(m * 0.8)), str(m), str(int(m * 1.15)), str(int(m * 1.45)),
                   str(int(m * 3.1)), str(int(m * 6.5)), "%.2f" % mean, str(TSC), "tcg",
                   "%.1f" % iops, "%.3f" % (iops * BS / 1e6), "", "", "1.000",
                   "0.000" if irq == "poll" or isinstance(irq, tuple) else "1.000", "812.40", "%.1f" % (m / 2),
                   "%.1f" % (m * 1.45 / 2), "", "", "tcg"]
            rows.append(",".join(row))
    os.makedirs(os.path.join(HERE, sub), exist_ok=True)
    with open(os.path.join(HERE, sub, "matrix.tsv"), "w") as f:
        f.write("\n".join(matrix) + "\n")
    with open(os.path.join(HERE, sub, "results.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    return iops_of


def main():
    rng = random.Random(20260110)
    s = write("slower", [("c001", "poll", 1.0), ("c002", "msix", 0.95), ("c003", "intx", 1.04)],
              8, 0.005, rng)
    # the fixture's point: B entirely below A (exact p = 2/C(16,8)), C entirely above
    assert u_statistic(s["c002"], s["c001"]) == 0
    assert u_statistic(s["c003"], s["c001"]) == 64
    n = write("noisy", [("c001", "poll", 1.0), ("c002", "msix", 0.95)], 5, 0.10, rng)
    # with 5 a side p < 0.01 needs U = 0 or 25; keep well inside
    assert 4 <= u_statistic(n["c002"], n["c001"]) <= 21, u_statistic(n["c002"], n["c001"])
    q = write("qemu-slower", [("c001", ("ide", "old"), 1.0), ("c002", ("ide", "new"), 1.0),
                              ("c003", ("virtio-blk", "old"), 1.0),
                              ("c004", ("virtio-blk", "new"), 0.90)], 8, 0.005, rng)
    assert u_statistic(q["c004"], q["c003"]) == 0
    assert 8 <= u_statistic(q["c002"], q["c001"]) <= 56
    q = write("qemu-same", [("c001", ("ide", "old"), 1.0), ("c002", ("ide", "new"), 1.0),
                            ("c003", ("virtio-blk", "old"), 1.0),
                            ("c004", ("virtio-blk", "new"), 0.998)], 8, 0.005, rng)


main()
