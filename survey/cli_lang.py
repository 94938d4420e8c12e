"""The command line's language beside its commands: ``--help`` in English with ``--lang en`` (or
``TRYGGHET_LANG=en``), and Click's usage errors (a misspelt flag or command, a missing or malformed value) as
the CLI's own sentences in Swedish or English (:func:`usage_text`; the templates are in
:data:`survey.pipeline.i18n.MESSAGES`). Used by :mod:`survey.cli` only."""

from __future__ import annotations

from typing import Any

import typer


def help_lang(args: list[str]) -> str:
    """The language ``--help`` is shown in: the last ``--lang X`` (or ``--lang=X``) of the command line, else the
    environment's ``TRYGGHET_LANG``, else Swedish (help is printed while the arguments are parsed, before
    the ``--lang`` option's value reaches :func:`main_options`)."""
    import os

    lang = os.environ.get("TRYGGHET_LANG") or "sv"
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            lang = args[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    return lang.strip().lower()


def english_help(cmd: Any) -> None:
    """Put the English help texts (:func:`survey.pipeline.i18n.help_en`) on ``cmd``, its options and arguments,
    and every subcommand; Click's own words (Usage, Options, Show this message and exit.) stay English."""
    from survey.pipeline.i18n import help_en

    run_options = _run_options()
    todo = [cmd]
    while todo:
        c = todo.pop()
        c.help = help_en(c.help, run_options)
        c.short_help = help_en(c.short_help, run_options)
        for p in c.params:
            if hasattr(p, "help"):
                p.help = help_en(p.help, run_options)
        todo.extend(getattr(c, "commands", {}).values())


def click_exception(name: str) -> type[Exception]:
    """Click's exception class ``name`` as Typer raises it (Typer 0.22 and later carry a copy of Click of their
    own, whose classes are not the ``click`` package's)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise LookupError(name)  # pragma: no cover


def usage_text(exc: Exception, argv: list[str], root: Any) -> str:
    """A usage error of Click (or Typer) as the CLI's own sentence, in the language the command line asks for
    (the error comes before ``--lang`` has been applied), followed by the command's ``--help``."""
    import re

    from survey.pipeline.i18n import LANGS, msg, say, set_lang

    lang = help_lang(argv)
    set_lang(lang if lang in LANGS else "sv")
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else _command_path(argv, root)
    text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    kind = type(exc).__name__
    if kind == "NoSuchOption":
        body = _unknown_option(exc.option_name, ctx, command, argv)  # type: ignore[attr-defined]
    elif kind == "MissingParameter":
        body = _missing(exc.param, lang)  # type: ignore[attr-defined]
    elif kind == "BadParameter":
        body = _bad_value(exc, text)
    elif kind == "BadOptionUsage":
        key = "takes_no_value" if "does not take" in text else "needs_value"
        body = msg(key, name=exc.option_name)  # type: ignore[attr-defined]
    elif (m := re.match(r"No such command '(.+?)'", text)) and ctx is not None:
        names = ctx.command.list_commands(ctx)
        body = msg("unknown_command", name=m[1], names=", ".join(names)) + _did_you_mean(m[1], names)
    elif text.startswith("Missing command") and ctx is not None:
        body = msg("missing_command", names=", ".join(ctx.command.list_commands(ctx)))
    elif m := re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", text):
        body = msg("extra_args", args=m[1])
    else:
        body = text
    return say(body) + " " + msg("usage_hint", command=command)


def _command_path(argv: list[str], root: Any) -> str:
    """``trygghet quarantine show``: the commands named on the command line below the ``root`` group (for
    errors that carry no context)."""
    cmd = root
    path = ["trygghet"]
    for arg in argv:
        commands = getattr(cmd, "commands", {})
        if not commands:
            break
        if arg in commands:  # else an option of the group or its value
            cmd = commands[arg]
            path.append(arg)
    return " ".join(path)


def _param_name(param: Any) -> str:
    """``--population`` for an option, ``FILE`` for an argument."""
    if param.param_type_name == "option":
        return str(param.opts[0])
    return str(getattr(param, "human_readable_name", None) or param.name).upper()


def _did_you_mean(name: str, names: list[str]) -> str:
    """`` Menade du --years?`` for the close matches of ``name`` among ``names``, else nothing."""
    import difflib

    from survey.pipeline.i18n import msg

    close = difflib.get_close_matches(name, names, n=3, cutoff=0.7)
    return " " + msg("did_you_mean", names=", ".join(close)) if close else ""


def _unknown_option(name: str, ctx: Any, command: str, argv: list[str]) -> str:
    """``Okänd flagga --yeer för trygghet run. Menade du --years?``; a ``--lang`` given after a command that
    does not take it is told to stand before the command."""
    from survey.pipeline.i18n import msg

    if name == "--lang" and ctx is not None:
        sub = command.removeprefix(ctx.find_root().command_path).strip()
        return msg("lang_first", lang=help_lang(argv), command=sub)
    params = ctx.command.params if ctx is not None else []
    flags = [o for p in params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]
    return msg("unknown_option", name=name, command=command) + _did_you_mean(name, flags)


def _missing(param: Any, lang: str) -> str:
    """``Ange --population: Befolkningsfil.``: the option or argument and its help text."""
    from survey.pipeline.i18n import msg

    if param is None:
        return msg("missing_value", name="?", help="")
    name = _param_name(param)
    text = getattr(param, "help", None) or ""
    if text and lang == "en":
        text = _english_text(text)
    return msg("missing_value", name=name, help=f": {text}" if text else "")


def _run_options() -> dict[str, str]:
    """The Swedish → English halves of the run options' descriptions (their ``--help`` texts)."""
    from survey.pipeline.config import RunConfig
    from survey.pipeline.i18n import split_description

    return dict(split_description(f.description) for f in RunConfig.model_fields.values())


def _english_text(text: str) -> str:
    from survey.pipeline.i18n import help_en

    return help_en(text, _run_options()) or text


def _bad_value(exc: Any, text: str) -> str:
    """A value Typer could not convert: the run configuration's sentence for the same mistake (``--n måste
    vara ≥ 1, inte '0'.``) where Typer's check was pydantic's, else Click's reason."""
    from pydantic import ValidationError

    from survey.pipeline.config_messages import explain_value
    from survey.pipeline.i18n import msg

    param = getattr(exc, "param", None)
    flag = _param_name(param) if param is not None else "?"
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        sentence = explain_value(cause.errors()[0], flag)
        if sentence is not None:
            return sentence
    return msg("bad_value", name=flag, reason=getattr(exc, "message", text))
