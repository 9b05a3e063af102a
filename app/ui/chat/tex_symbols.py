"""What LaTeX math commands mean as Unicode (no Qt): symbols, operators, fonts, accents."""

from __future__ import annotations

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ",
    "varepsilon": "ε", "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ",
    "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "omicron": "ο", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ",
    "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ",
    "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ",
    "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω",
}  # fmt: skip

# Spaced like relations and binary operators (a thin space each side).
RELATIONS = {
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈",
    "equiv": "≡", "sim": "∼", "simeq": "≃", "cong": "≅", "propto": "∝", "in": "∈",
    "notin": "∉", "ni": "∋", "subset": "⊂", "subseteq": "⊆", "supset": "⊃",
    "supseteq": "⊇", "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔", "Leftrightarrow": "⇔",
    "iff": "⟺", "implies": "⟹", "impliedby": "⟸", "mapsto": "↦", "longrightarrow": "⟶",
    "longleftarrow": "⟵", "Longrightarrow": "⟹", "ll": "≪", "gg": "≫", "perp": "⊥",
    "parallel": "∥", "mid": "∣", "prec": "≺", "succ": "≻", "preceq": "⪯", "succeq": "⪰",
    "vdash": "⊢", "models": "⊨", "uparrow": "↑", "downarrow": "↓", "nearrow": "↗",
    "searrow": "↘", "coloneqq": "≔", "doteq": "≐", "asymp": "≍",
}  # fmt: skip
BINARY = {
    "pm": "±", "mp": "∓", "times": "×", "div": "÷", "cdot": "·", "ast": "∗", "star": "⋆",
    "circ": "∘", "bullet": "∙", "oplus": "⊕", "ominus": "⊖", "otimes": "⊗", "odot": "⊙",
    "wedge": "∧", "land": "∧", "vee": "∨", "lor": "∨", "cup": "∪", "cap": "∩",
    "setminus": "∖", "sqcup": "⊔", "sqcap": "⊓", "dagger": "†", "amalg": "⨿",
}  # fmt: skip
ORDINARY = {
    "infty": "∞", "partial": "∂", "nabla": "∇", "forall": "∀", "exists": "∃",
    "nexists": "∄", "emptyset": "∅", "varnothing": "∅", "hbar": "ℏ", "ell": "ℓ",
    "Re": "ℜ", "Im": "ℑ", "aleph": "ℵ", "wp": "℘", "angle": "∠", "triangle": "△",
    "prime": "′", "ldots": "…", "dots": "…", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱",
    "neg": "¬", "lnot": "¬", "top": "⊤", "bot": "⊥", "degree": "°", "checkmark": "✓",
    "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊",
    "rfloor": "⌋", "lvert": "|", "rvert": "|", "vert": "|", "lVert": "‖", "rVert": "‖",
    "Vert": "‖", "|": "‖", "{": "{", "}": "}", "$": "$", "%": "%", "#": "#", "&": "&",
    "_": "_", "backslash": "\\", "square": "□", "blacksquare": "■", "clubsuit": "♣",
    "diamondsuit": "♢", "heartsuit": "♡", "spadesuit": "♠", "sharp": "♯", "flat": "♭",
    "therefore": "∴", "because": "∵", "S": "§", "P": "¶", "copyright": "©",
    "imath": "ı", "jmath": "ȷ", "surd": "√",
}  # fmt: skip

# Operators that take limits (above and below in display math).
BIG_OPERATORS = {
    "sum": "∑", "prod": "∏", "coprod": "∐", "bigcup": "⋃", "bigcap": "⋂",
    "bigoplus": "⨁", "bigotimes": "⨂", "bigodot": "⨀", "bigvee": "⋁", "bigwedge": "⋀",
    "bigsqcup": "⨆",
}  # fmt: skip
INTEGRALS = {"int": "∫", "iint": "∬", "iiint": "∭", "oint": "∮", "oiint": "∯"}

# Upright operator names; the ``True`` ones take limits in display math.
FUNCTIONS = {
    **dict.fromkeys(
        [
            "sin",
            "cos",
            "tan",
            "cot",
            "sec",
            "csc",
            "arcsin",
            "arccos",
            "arctan",
            "sinh",
            "cosh",
            "tanh",
            "coth",
            "log",
            "ln",
            "lg",
            "exp",
            "det",
            "dim",
            "ker",
            "deg",
            "arg",
            "hom",
            "gcd",
            "lcm",
            "mod",
            "Pr",
            "sgn",
            "tr",
            "rank",
            "erf",
        ],
        False,
    ),
    **dict.fromkeys(
        ["lim", "limsup", "liminf", "max", "min", "sup", "inf", "argmax", "argmin"], True
    ),
}

SPACES = {
    ",": "\u2009", ":": "\u205f", ";": "\u2004", ">": "\u205f", "!": "", " ": " ",
    "quad": "\u2003", "qquad": "\u2003\u2003", "enspace": "\u2002", "thinspace": "\u2009",
}  # fmt: skip

# Accents over one character (combining marks); longer bodies get an over/underline.
ACCENTS = {
    "hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "vec": "\u20d7",
    "dot": "\u0307", "ddot": "\u0308", "tilde": "\u0303", "widetilde": "\u0303",
    "acute": "\u0301", "grave": "\u0300", "breve": "\u0306", "check": "\u030c",
}  # fmt: skip
LINES = {"overline": "overline", "underline": "underline", "bar": "overline"}

# Font commands → (offset of capital A, of small a, of digit 0) in Unicode's mathematical
# alphanumerics; ``None`` keeps the plain letter. Exceptions are the letters Unicode left
# at their older code points (ℝ, ℂ, ℋ …).
_ALPHA = {
    "mathbf": (0x1D400, 0x1D41A, 0x1D7CE),
    "boldsymbol": (0x1D468, 0x1D482, 0x1D7CE),
    "mathit": (0x1D434, 0x1D44E, None),
    "mathbb": (0x1D538, 0x1D552, 0x1D7D8),
    "mathcal": (0x1D49C, 0x1D4B6, None),
    "mathscr": (0x1D49C, 0x1D4B6, None),
    "mathfrak": (0x1D504, 0x1D51E, None),
    "mathsf": (0x1D5A0, 0x1D5BA, 0x1D7E2),
    "mathtt": (0x1D670, 0x1D68A, 0x1D7F6),
}
_HOLES = {
    "mathbb": dict(zip("CHNPQRZ", "ℂℍℕℙℚℝℤ", strict=True)),
    "mathcal": dict(zip("BEFHILMR", "ℬℰℱℋℐℒℳℛ", strict=True)) | {"e": "ℯ", "g": "ℊ", "o": "ℴ"},
    "mathfrak": dict(zip("CHIRZ", "ℭℌℑℜℨ", strict=True)),
    "mathit": {"h": "ℎ"},
}
_HOLES["mathscr"] = _HOLES["mathcal"]
FONTS = set(_ALPHA) | {"mathrm", "textrm", "text", "textbf", "textit", "mbox", "operatorname"}


def styled(font: str, text: str) -> str:
    """``text`` in a math alphabet (``\\mathbb{R}`` → ℝ); other characters unchanged."""
    offsets = _ALPHA.get(font)
    if offsets is None:
        return text
    upper, lower, digit = offsets
    holes = _HOLES.get(font, {})
    out = []
    for ch in text:
        if ch in holes:
            out.append(holes[ch])
        elif "A" <= ch <= "Z":
            out.append(chr(upper + ord(ch) - 65))
        elif "a" <= ch <= "z":
            out.append(chr(lower + ord(ch) - 97))
        elif "0" <= ch <= "9" and digit is not None:
            out.append(chr(digit + ord(ch) - 48))
        else:
            out.append(ch)
    return "".join(out)
