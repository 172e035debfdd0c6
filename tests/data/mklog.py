#!/usr/bin/env python3
"""Write sample kvmio protocol logs with correct CRCs: mklog.py NAME > file (good, help, badconfig)."""
import sys, zlib

def line(seq, typ, fields):
    body = "@kvmio 1 %s seq=%d%s" % (typ, seq, "".join(" %s=%s" % kv for kv in fields))
    return "%s crc=%08x\n" % (body, zlib.crc32(body.encode()) & 0xffffffff)

HELLO = [("build", "v0-20260101"), ("boot", "multiboot"), ("cmdline", "kvmio.elf%20bench=exits"),
         ("mem_kib", "130048"), ("cpus", "1"), ("cpu_vendor", "AuthenticAMD"), ("cpu_family", "25"),
         ("cpu_model", "1"), ("cpu_stepping", "1"), ("hv", "TCGTCGTCGTCG"), ("accel", "tcg"),
         ("tsc_hz", "2000000000"), ("tsc_method", "pit"), ("invtsc", "1"), ("ts_cost", "40"),
         ("ts", "lfence-rdtsc-lfence"), ("acpi", "0xf5a40"), ("ecam", "none")]
PCI = [("bdf", "00:03.0"), ("id", "1b36:0005"), ("class", "00ff00"), ("rev", "0x00"), ("hdr", "0x00"),
       ("irq", "11/1"), ("caps", "none"), ("bar0", "mem32:0xfebf1000:4096"), ("bar1", "io:0xc000:256"),
       ("access", "cf8")]
RESULT = [("bench", "exits"), ("name", "cpuid"), ("ops", "4"), ("total", "1000"), ("min", "200"),
          ("p50", "250"), ("p90", "300"), ("p99", "300"), ("p999", "300"), ("max", "300"),
          ("mean", "250.00"), ("hist", "192:1,224:1,256:2")]

def log(kind):
    recs = [("hello", HELLO)]
    status = "ok"
    if kind == "good":
        recs += [("pci", PCI), ("result", RESULT),
                 ("skip", [("bench", "exits"), ("name", "mmio-bar"), ("reason", "no%20pci-testdev")])]
    elif kind == "help":
        recs += [("option", [("name", "bench"), ("default", "exits"), ("help", "benchmarks%20to%20run")]),
                 ("option", [("name", "ops"), ("default", "10000"), ("help", "operations%20per%20series")])]
    elif kind == "badconfig":
        recs += [("error", [("code", "badconfig"), ("msg", "unknown%20option"), ("key", "foo"), ("value", "1")])]
        status = "badconfig"
    recs.append(("end", [("status", status), ("records", str(len(recs)))]))
    return "".join(line(i, t, f) for i, (t, f) in enumerate(recs))

sys.stdout.write(log(sys.argv[1] if len(sys.argv) > 1 else "good"))
