"""``palaver providers add | list | test``: the providers file and keys the window uses."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.api import ProviderProfile, load_presets
from app.cli.common import CliError, emit_json, opened, table
from app.core.connection import check_with_saved_key, client_factory_for
from app.core.discovery import is_loopback
from app.core.metered import record
from app.core.providers import slug


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    providers = commands.add_parser("providers", parents=[common], help="your providers")
    actions = providers.add_subparsers(dest="action", required=True, metavar="add|list|test")
    add = actions.add_parser("add", parents=[common], help="add a preset or any base URL")
    source = add.add_mutually_exclusive_group()
    source.add_argument("--preset", help="a preset id (see `palaver providers presets`)")
    add.add_argument("--base-url", help="the API's base URL (with a preset: overrides its)")
    add.add_argument("--id", help="the id to use (made from the name when absent)")
    add.add_argument("--name", help="the name shown")
    add.add_argument("--key-env", help="read the key from this environment variable")
    add.add_argument(
        "--key-stdin", action="store_true", help="read the key from stdin (saved in the keyring)"
    )
    actions.add_parser("list", parents=[common], help="the providers you added")
    actions.add_parser("presets", parents=[common], help="the presets you can add")
    test = actions.add_parser("test", parents=[common], help="list the models with the key")
    test.add_argument("id")
    test.add_argument(
        "--probe",
        action="store_true",
        help="without a model list: send a one-token message (it may cost a token)",
    )
    providers.set_defaults(run=run)


def _profile_json(profile: ProviderProfile, key: str | None) -> dict[str, Any]:
    return {
        "id": profile.id,
        "name": profile.name,
        "base_url": profile.base_url,
        "kind": profile.kind,
        "key_env": profile.key_env,
        "key": key,  # where the key is (keyring, memory, environment), never the key
        "models": list(profile.models),
    }


def _new_profile(args: argparse.Namespace) -> ProviderProfile:
    if args.preset:
        presets = {p.id: p for p in load_presets()}
        preset = presets.get(args.preset)
        if preset is None:
            raise CliError(f"No preset “{args.preset}”; known: {', '.join(sorted(presets))}.")
        update: dict[str, Any] = {}
        if preset.needs_base_url and not args.base_url:
            raise CliError(
                f"The documentation of “{preset.name}” names no host: pass --base-url with "
                "the address your provider gave you."
            )
        if args.base_url:
            update["base_url"] = args.base_url.rstrip("/")
            update["needs_base_url"] = False
        if args.name:
            update["name"] = args.name
        profile = preset.model_copy(deep=True, update=update)
    elif args.base_url:
        name = args.name or args.base_url.split("//")[-1].split("/")[0]
        # A local server usually wants no key; one given (stdin or a variable) is used.
        local = is_loopback(args.base_url) and not (args.key_stdin or args.key_env)
        profile = ProviderProfile(
            id=slug(name), name=name, base_url=args.base_url.rstrip("/"), key_required=not local
        )
    else:
        raise CliError("Say what to add: --preset ID or --base-url URL.")
    if args.id:
        profile = profile.model_copy(update={"id": slug(args.id)})
    if args.key_env:
        profile = profile.model_copy(update={"key_env": args.key_env})
    return ProviderProfile.model_validate(profile.model_dump())


async def run(args: argparse.Namespace) -> int:
    as_json = getattr(args, "json", False)
    if args.action == "presets":
        presets = list(load_presets())
        if as_json:
            emit_json(
                [
                    {"id": p.id, "name": p.name, "base_url": p.base_url, "kind": p.kind}
                    for p in presets
                ]
            )
        else:
            print(
                table([[p.id, p.name, p.base_url] for p in presets], ["PRESET", "NAME", "BASE URL"])
            )
        return 0
    async with opened(getattr(args, "data_dir", None)) as ctx:
        if args.action == "add":
            profile = _new_profile(args)
            key = sys.stdin.readline().strip() if args.key_stdin else ""
            if args.key_stdin and not key:
                raise CliError("--key-stdin was given but stdin had no key.")
            stored = ctx.registry.add(profile)
            where = (await ctx.keys.set(stored.id, key)).value if key else None
            resolved = await ctx.keys.get(stored.id, stored.key_env)
            if as_json:
                emit_json(_profile_json(stored, resolved.source.value if resolved else None))
            else:
                home = "saved in the system keyring" if where == "keyring" else "kept for this run"
                saved = f"; key {home}" if key else ""
                print(f"Added “{stored.name}” as {stored.id}{saved}.")
            if where == "memory":
                print(
                    "No system keyring: use --key-env VAR to keep the key outside Palaver.",
                    file=sys.stderr,
                )
            return 0
        if args.action == "list":
            rows = []
            for profile in ctx.registry.all():
                resolved = await ctx.keys.get(profile.id, profile.key_env)
                rows.append(_profile_json(profile, resolved.source.value if resolved else None))
            if as_json:
                emit_json(rows)
            elif rows:
                cells = [[r["id"], r["name"], r["base_url"], r["key"] or "none"] for r in rows]
                print(table(cells, ["ID", "NAME", "BASE URL", "KEY"]))
            else:
                print("No providers yet: `palaver providers add --preset ID`.")
            return 0
        known = ctx.registry.get(args.id)
        if known is None:
            raise CliError(f"No provider “{args.id}”: see `palaver providers list`.")
        profile = known
        result = await check_with_saved_key(
            profile, None, ctx.keys, profile.id, client_factory_for(ctx.settings.get()),
            probe=args.probe,
        )  # fmt: skip
        if result.checked:  # a real call: in the ledger, as the dialog's test is
            probed = not profile.capabilities.model_list
            await record(
                ctx.store, ctx.clients, profile.id, "chat" if probed else "models",
                profile.models[0] if probed else "",
                result=result.listing, error=result.error, latency_s=result.seconds,
            )  # fmt: skip
        if result.ok and result.checked and profile.capabilities.model_list:
            ctx.models.put(profile.id, result.models)
        if as_json:
            emit_json(
                {
                    "id": profile.id,
                    "ok": result.ok,
                    "checked": result.checked,
                    "headline": result.headline,
                    "detail": result.detail,
                    "models": result.model_ids,
                    "seconds": round(result.seconds, 3),
                }
            )
        elif result.ok:
            print(f"{result.headline} {result.detail}".strip())
        if not result.ok:
            words = " ".join(f"{result.headline} {result.detail}".split())
            raise CliError("" if as_json else words)
        return 0
