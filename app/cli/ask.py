"""``palaver ask``: one question, the answer streamed to stdout, both kept in the history."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.api import Waiting, reporting_waits, wait_words
from app.cli.common import CliError, emit_json, opened
from app.core.chat import AnswerDelta, AnswerFinished, ChatSession, Target
from app.core.context import AppContext
from app.core.targets import default_target
from app.store import MessageStatus, NotFoundError


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "ask", parents=[common], help="ask a model; the answer streams to stdout"
    )
    parser.add_argument("text", nargs="*", help="the question (read from stdin when absent)")
    parser.add_argument("--provider", help="provider id (see `palaver providers list`)")
    parser.add_argument("--model", help="model id (see `palaver models`)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--new", action="store_true", help="a new conversation (the default)")
    where.add_argument("--conversation", type=int, help="continue this conversation")
    parser.set_defaults(run=run)


def _target(ctx: AppContext, args: argparse.Namespace, conversation: Any) -> Target:
    provider = args.provider or (conversation.provider if conversation else None)
    model = args.model or (conversation.model if conversation else None)
    if provider and ctx.registry.get(provider) is None:
        raise CliError(f"No provider “{provider}”: see `palaver providers list`.")
    if provider and model:
        return Target(provider, model)
    if not ctx.registry.all():
        raise CliError("No provider yet: add one with `palaver providers add`.")
    if model:  # the provider that offers it, else the first one
        for profile in ctx.registry.all():
            cached = ctx.models.get(profile.id)
            if model in profile.models or (cached is not None and model in cached.ids):
                return Target(profile.id, model)
        return Target(provider or ctx.registry.all()[0].id, model)
    fallback = default_target(ctx.settings.get(), ctx.registry, ctx.models)
    if fallback is None or (provider and fallback.provider_id != provider):
        raise CliError("No model chosen: pass --model (see `palaver models`).")
    return fallback


def _say_wait(waiting: Waiting) -> None:
    print(
        f"palaver: waiting {wait_words(waiting.seconds)} ({waiting.reason}); Ctrl+C stops.",
        file=sys.stderr,
        flush=True,
    )


async def run(args: argparse.Namespace) -> int:
    text = " ".join(args.text).strip() or (
        sys.stdin.read().strip() if not sys.stdin.isatty() else ""
    )
    if not text:
        raise CliError("Nothing to ask: give the question as arguments or on stdin.")
    as_json = getattr(args, "json", False)
    async with opened(getattr(args, "data_dir", None)) as ctx:
        conversation = None
        if args.conversation is not None:
            try:
                conversation = ctx.store.get_conversation(args.conversation)
            except NotFoundError:
                raise CliError(
                    f"No conversation {args.conversation}: see `palaver history list`."
                ) from None
        target = _target(ctx, args, conversation)
        # Prices come from the provider's own list: fetch it once, before (never during)
        # the answer, as some local servers end a stream when another request arrives.
        await ctx.fetch_model_lists(only=target.provider_id)
        session = ChatSession(
            ctx.store,
            ctx.clients,
            conversation.id if conversation else None,
            params=dict(conversation.params) if conversation else None,
            system_prompt=conversation.system_prompt if conversation else "",
        )
        finished: AnswerFinished | None = None
        with reporting_waits(_say_wait):
            async for event in session.send(text, target):
                if isinstance(event, AnswerDelta) and not as_json:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, AnswerFinished):
                    finished = event
        assert finished is not None
        message = finished.message
        if as_json:
            emit_json(
                {
                    "conversation_id": message.conversation_id,
                    "message_id": message.id,
                    "provider": target.provider_id,
                    "model": message.model or target.model,
                    "text": message.text,
                    "status": str(message.status),
                    "finish_reason": message.finish_reason,
                    "input_tokens": message.prompt_tokens,
                    "output_tokens": message.completion_tokens,
                    "estimated": message.tokens_estimated,
                    "cost": message.cost,
                    "error": finished.error.message if finished.error else None,
                }
            )
        elif message.text and not message.text.endswith("\n"):
            sys.stdout.write("\n")
        if message.status is not MessageStatus.COMPLETE:
            reason = (
                finished.error.message if finished.error else f"the answer was {message.status}"
            )
            kept = " (what arrived is kept in the history)" if message.text else ""
            raise CliError(f"{reason}{kept}")
        return 0
