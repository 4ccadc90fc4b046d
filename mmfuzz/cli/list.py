"""`mmfuzz list`: scenarios, code paths with their versions, named kernels.

A path's protection mutants (versions flagged mutant, for `mmfuzz mutate`) are listed
apart from its versions: they model no kernel and no proposal from a thread.
"""

from __future__ import annotations

import json

from .args import EXIT_CLEAN, add_races_flag


def add_command(sub) -> None:
    p = sub.add_parser("list", help="scenarios, code paths with their versions, named kernels")
    p.add_argument("--json", action="store_true")
    add_races_flag(p)
    p.set_defaults(handler=run_list)


def run_list(args) -> int:
    data = listing()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_listing(data)
    return EXIT_CLEAN


def listing() -> dict:
    from mmfuzz import races
    from mmfuzz.engine.scenario import SCENARIOS
    from mmfuzz.engine.versions import PATHS, RELEASES, release_key, select

    packages = races.load()
    kernels = []
    for name in sorted(RELEASES, key=release_key):
        chosen = select(name)
        kernels.append({"name": name, "note": RELEASES[name].note,
                        "versions": {p: v.name for p, v in sorted(chosen.items())}})
    return {
        "scenarios": [{"name": s.name, "doc": s.doc, "paths": list(s.paths), "package": races.package_of(s),
                       "actors": [{"kind": a.kind, "title": a.title, "min": a.min, "max": a.max} for a in s.actors],
                       "options": {k: list(v) for k, v in s.options.items()}}
                      for s in sorted(SCENARIOS.values(), key=lambda s: s.name)],
        "paths": [{"name": p.name, "file": p.file, "doc": p.doc,
                   "versions": [{"name": v.name, "since": v.since, "commit": v.commit,
                                 "models": v.models, "racy": v.racy, "doc": v.doc}
                                for v in p.versions.values() if not v.mutant],
                   "mutants": [{"name": v.name, "mutates": list(v.mutates), "models": v.models, "doc": v.doc}
                               for v in p.versions.values() if v.mutant]}
                  for p in sorted(PATHS.values(), key=lambda p: p.name)],
        "kernels": kernels,
        "race_packages": [{"module": m, "found": how} for m, how in packages.items()],
    }


def print_listing(data: dict) -> None:
    print("SCENARIOS")
    for s in data["scenarios"]:
        print(f"  {s['name']:<24} {s['doc']}")
        actors = ", ".join(f"{a['kind']} ({a['min']}-{a['max']})" for a in s["actors"])
        print(f"  {'':<24} actors: {actors}")
        if s["package"] != "mmfuzz.scenarios":
            print(f"  {'':<24} from race package {s['package']}")
        for k, v in s["options"].items():
            print(f"  {'':<24} --{k} {'|'.join(v)}")
    print("\nCODE PATHS (version: since release, what it models; then its protection mutants)")
    for p in data["paths"]:
        print(f"  {p['name']}  [{p['file']}]  {p['doc']}")
        for v in p["versions"]:
            since = f"since {v['since']}" if v["since"] else "alternative, --with only"
            print(f"    {v['name']:<20} {since:<26} {v['models']}")
            if v["racy"]:
                print(f"    {'':<20} {'':<26} racy: {v['racy']}")
        if p["mutants"]:
            print("    protection mutants (mmfuzz mutate; --with selects one too):")
        for m in p["mutants"]:
            mutates = f"mutant of {', '.join(m['mutates'])}"
            print(f"      {m['name']:<26} {mutates:<26} {(m['doc'] or m['models']).removeprefix('Mutant: ')}")
    print("\nKERNELS")
    for k in data["kernels"]:
        print(f"  {k['name']:<10} {k['note']}")
    print("\nRACE PACKAGES")
    for p in data["race_packages"]:
        print(f"  {p['module']:<24} {p['found']}")
