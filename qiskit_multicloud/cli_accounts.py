"""``qiskit-multicloud login | accounts | logout``: saved accounts from the command line.

``login VENDOR`` takes the vendor's plain settings as options (``--url``, ``--username``
...) and asks for its secret (token, API key or password) without echoing it, or reads it
from standard input with ``--token-stdin`` for scripts. Secrets are never command-line
arguments, so they never end up in shell history or process listings.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from typing import Any

from . import accounts
from .cli import Commands, table
from .config import VendorSettings
from .exceptions import ConfigurationError
from .vendors import VENDOR_KEYS, plugin


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


def _field_help(settings_class: type[VendorSettings], field: str) -> str:
    """The field's line from the settings class's ``Attributes:`` docstring section."""
    lines = (settings_class.__doc__ or "").splitlines()
    for number, line in enumerate(lines):
        if line.strip().startswith(f"{field}:"):
            indent = len(line) - len(line.lstrip())
            text = [line.strip()[len(field) + 1 :]]
            for more in lines[number + 1 :]:
                if not more.strip() or len(more) - len(more.lstrip()) <= indent:
                    break
                text.append(more.strip())
            return " ".join(" ".join(text).replace("``", "'").split())
    return f"the {settings_class.vendor} setting {field}"


def _field_type(settings_class: type[VendorSettings], field: str) -> type:
    declared = next(f.type for f in dataclasses.fields(settings_class) if f.name == field)
    return int if str(declared).split(" |")[0] == "int" else str


def _validates(settings_class: type[VendorSettings], values: dict[str, Any]) -> bool:
    try:
        return settings_class.resolve(**values) is not None
    except ConfigurationError:
        return False


def secret_field(settings_class: type[VendorSettings], values: dict[str, Any]) -> str | None:
    """Which secret to ask for: the first secret setting that completes ``values``."""
    fields = accounts.secret_fields(settings_class)
    fitting = [f for f in fields if _validates(settings_class, {**values, f: "x"})]
    chosen = fitting or list(fields)
    return chosen[0] if chosen else None


def _read_secret(vendor: str, field: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "standard input is not a terminal, so the secret cannot be asked for; pipe it "
            "in with --token-stdin"
        )
    return getpass.getpass(f"{vendor} {field} (input hidden; Enter for none): ").strip()


def cmd_login(args: argparse.Namespace) -> int:
    """Save an account, asking for its secret."""
    settings_class = plugin(args.vendor).settings
    secrets = accounts.secret_fields(settings_class)
    values = {
        field: getattr(args, field)
        for field in accounts.setting_fields(settings_class)
        if field not in secrets and getattr(args, field, None) is not None
    }
    field = secret_field(settings_class, values)
    if field is not None:
        secret = _read_secret(args.vendor, field, args.token_stdin)
        if secret:
            values[field] = secret
    saved = accounts.save_account(
        args.vendor,
        name=args.name,
        overwrite=args.overwrite,
        set_as_default=True if args.set_default else None,
        **values,
    )
    default = " (default)" if saved.default else ""
    print(
        f"saved {saved.vendor} account {saved.name!r}{default} in {accounts.accounts_path()}",
        file=sys.stderr,
    )
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    """List saved accounts with secrets redacted."""
    found = accounts.saved_accounts(args.vendor)
    if not found:
        print(
            f"no saved accounts in {accounts.accounts_path()}; "
            "'qiskit-multicloud login VENDOR' saves one",
            file=sys.stderr,
        )
        return 0
    rows = [
        (
            a.vendor,
            a.name,
            "yes" if a.default else "no",
            ", ".join(f"{k}={v}" for k, v in a.settings.items()),
        )
        for a in found
    ]
    print(table(("vendor", "name", "default", "settings"), rows))
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    """Delete a saved account."""
    if not accounts.delete_account(args.vendor, args.name):
        which = f"named {args.name!r}" if args.name else "set as default"
        raise ConfigurationError(
            f"no saved {args.vendor} account {which}; 'qiskit-multicloud accounts' lists them"
        )
    which = repr(args.name) if args.name else "(the default)"
    print(f"deleted {args.vendor} account {which}", file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    """Add ``login``, ``accounts`` and ``logout``."""
    login = commands.add(
        "login",
        cmd_login,
        "save a vendor account (asks for its secret without echoing it)",
        "Save a vendor account for later sessions. Plain settings are options; the secret\n"
        "(token, API key or password) is asked for without echo, or read from standard\n"
        "input with --token-stdin. 'qiskit-multicloud login VENDOR --help' lists the\n"
        "vendor's settings.",
    )
    vendors = login.add_subparsers(dest="vendor", required=True, metavar="VENDOR")
    for key in VENDOR_KEYS:
        settings_class = plugin(key).settings
        parser = vendors.add_parser(
            key,
            help=f"save an account of {key}",
            description=f"Save an account of {key}.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(func=cmd_login)
        parser.add_argument(
            "--name",
            default=None,
            help=f"account name, to keep several per vendor (default: {accounts.DEFAULT_NAME!r})",
        )
        parser.add_argument(
            "--set-default",
            action="store_true",
            help="make it the vendor's default account (the first one saved always is)",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="replace a saved account of the same name"
        )
        parser.add_argument(
            "--token-stdin",
            action="store_true",
            help="read the secret from the first line of standard input instead of asking",
        )
        secrets = accounts.secret_fields(settings_class)
        for field in accounts.setting_fields(settings_class):
            if field not in secrets:
                parser.add_argument(
                    _option(field),
                    dest=field,
                    type=_field_type(settings_class, field),
                    default=None,
                    help=_field_help(settings_class, field),
                )

    listing = commands.add(
        "accounts", cmd_accounts, "list saved accounts (secrets shown as ***)"
    )
    listing.add_argument(
        "vendor",
        nargs="?",
        type=str.lower,
        choices=VENDOR_KEYS,
        metavar="VENDOR",
        help=f"only this vendor ({', '.join(VENDOR_KEYS)})",
    )

    logout = commands.add("logout", cmd_logout, "delete a saved account")
    logout.add_argument(
        "vendor",
        type=str.lower,
        choices=VENDOR_KEYS,
        metavar="VENDOR",
        help=f"the account's vendor ({', '.join(VENDOR_KEYS)})",
    )
    logout.add_argument(
        "--name", default=None, help="the account's name (default: the vendor's default)"
    )
