"""``palaver models``, ``palaver usage`` and ``palaver history``: what the app knows, read
from the same models cache, usage ledger and history the window shows (offline)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from app.cli.common import CliError, emit_json, money, opened, table
from app.core.models_cache import ModelFacts, format_price, model_facts
from app.store import NotFoundError


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    models = commands.add_parser("models", parents=[common], help="the models of each provider")
    models.add_argument("--provider", help="only this provider")
    models.add_argument(
        "--refresh", action="store_true", help="fetch the model lists again first (online)"
    )
    models.set_defaults(run=run_models)

    usage = commands.add_parser("usage", parents=[common], help="the usage ledger: every call")
    usage.add_argument("--since", help="only calls from this day on (YYYY-MM-DD)")
    usage.add_argument("--limit", type=int, default=1000, help="at most this many rows")
    usage.set_defaults(run=run_usage)

    history = commands.add_parser("history", parents=[common], help="conversations, offline")
    actions = history.add_subparsers(dest="action", required=True, metavar="list|show|search")
    listing = actions.add_parser("list", parents=[common], help="recent conversations")
    listing.add_argument("--limit", type=int, default=50)
    show = actions.add_parser("show", parents=[common], help="one conversation's messages")
    show.add_argument("id", type=int)
    search = actions.add_parser("search", parents=[common], help="full-text search")
    search.add_argument("text", nargs="+")
    search.add_argument("--limit", type=int, default=20)
    history.set_defaults(run=run_history)


async def run_models(args: argparse.Namespace) -> int:
    async with opened(getattr(args, "data_dir", None)) as ctx:
        profiles = ctx.registry.all()
        if args.provider:
            profiles = [p for p in profiles if p.id == args.provider]
            if not profiles:
                raise CliError(f"No provider “{args.provider}”: see `palaver providers list`.")
        if args.refresh:
            await ctx.fetch_model_lists(force=True)
        rows: list[ModelFacts] = []
        for profile in profiles:
            cached = ctx.models.get(profile.id)
            names = dict.fromkeys([*profile.models, *(cached.ids if cached else [])])
            rows.extend(model_facts(profile, name, ctx.models) for name in names)
    if getattr(args, "json", False):
        emit_json([facts.to_json() for facts in rows])
    elif rows:
        print(
            table(
                [
                    [
                        f.provider,
                        f.id,
                        f.category or "",
                        str(f.context_length or ""),
                        format_price(f.price),
                    ]
                    for f in rows
                ],
                ["PROVIDER", "MODEL", "CATEGORY", "CONTEXT", "PRICE (in / out)"],
            )
        )
    else:
        print("No models known yet: add a provider, or run with --refresh once online.")
    return 0


def _since(text: str | None) -> float | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since wants a day as YYYY-MM-DD, not “{text}”.") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def usage_row(entry: dict[str, Any]) -> dict[str, Any]:
    """One ledger row in the stable shape of ``palaver usage --json``."""
    return {
        "time": _iso(entry.get("ts")),
        "provider": entry.get("provider"),
        "model": entry.get("model") or None,
        "endpoint": entry.get("endpoint"),
        "status": entry.get("status"),
        "input_tokens": entry.get("prompt_tokens") or 0,
        "output_tokens": entry.get("completion_tokens") or 0,
        "cost": entry.get("cost"),
        "estimated": bool(entry.get("estimated")),
        "latency_s": entry.get("latency_s"),
        "conversation_id": entry.get("conversation_id"),
        "message_id": entry.get("message_id"),
        "request_id": entry.get("request_id"),
    }


async def run_usage(args: argparse.Namespace) -> int:
    since = _since(args.since)
    async with opened(getattr(args, "data_dir", None)) as ctx:
        entries = await ctx.store.usage_entries(since=since, limit=max(1, args.limit))
    rows = [usage_row(e) for e in entries]
    if getattr(args, "json", False):
        emit_json(rows)
        return 0
    if not rows:
        print("No calls recorded" + (f" since {args.since}." if args.since else " yet."))
        return 0
    print(
        table(
            [
                [
                    r["time"] or "",
                    r["provider"] or "",
                    r["model"] or "",
                    r["endpoint"] or "",
                    r["status"] or "",
                    str(r["input_tokens"]),
                    str(r["output_tokens"]),
                    money(r["cost"], r["estimated"]),
                ]
                for r in rows
            ],
            ["TIME (UTC)", "PROVIDER", "MODEL", "ENDPOINT", "STATUS", "IN", "OUT", "COST"],
        )
    )
    known = [r["cost"] for r in rows if r["cost"] is not None]
    print(f"\n{len(rows)} calls, {money(sum(known))} known cost")
    return 0


def _conversation_json(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "created": _iso(c.created_at),
        "updated": _iso(c.updated_at),
        "provider": c.provider,
        "model": c.model,
        "pinned": c.pinned,
    }


def _message_json(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "parent_id": m.parent_id,
        "role": m.role,
        "text": m.text,
        "status": str(m.status),
        "provider": m.provider,
        "model": m.model,
        "created": _iso(m.created_at),
        "input_tokens": m.prompt_tokens,
        "output_tokens": m.completion_tokens,
        "cost": m.cost,
    }


async def run_history(args: argparse.Namespace) -> int:
    as_json = getattr(args, "json", False)
    async with opened(getattr(args, "data_dir", None)) as ctx:
        if args.action == "list":
            items = ctx.store.list_conversations(limit=max(1, args.limit))
            if as_json:
                emit_json([_conversation_json(c) for c in items])
            elif items:
                cells = [[str(c.id), _iso(c.updated_at) or "", c.title] for c in items]
                print(table(cells, ["ID", "UPDATED (UTC)", "TITLE"]))
            else:
                print("No conversations yet.")
        elif args.action == "show":
            try:
                conversation = ctx.store.get_conversation(args.id)
            except NotFoundError:
                raise CliError(f"No conversation {args.id}: see `palaver history list`.") from None
            messages = ctx.store.active_branch(conversation.id)
            if as_json:
                emit_json(
                    {
                        **_conversation_json(conversation),
                        "messages": [_message_json(m) for m in messages],
                    }
                )
            else:
                print(f"# {conversation.title}\n")
                for m in messages:
                    who = m.role if m.role != "assistant" else f"assistant ({m.model or '?'})"
                    print(f"## {who}\n\n{m.text}\n")
        else:
            hits = await ctx.store.search(" ".join(args.text), limit=max(1, args.limit))
            rows = [
                {"kind": h.kind, "id": h.id, "conversation_id": h.conversation_id,
                 "title": h.title, "snippet": h.snippet, "role": h.role,
                 "created": _iso(h.created_at)}
                for h in hits
            ]  # fmt: skip
            if as_json:
                emit_json(rows)
            elif hits:
                cells = [
                    [
                        h.kind,
                        str(h.conversation_id or ""),
                        h.title,
                        " ".join(h.snippet.split())[:80],
                    ]
                    for h in hits
                ]
                print(table(cells, ["KIND", "CONVERSATION", "TITLE", "MATCH"]))
            else:
                print("Nothing found.")
    return 0
