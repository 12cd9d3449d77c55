"""Retirement certificates in HTML (Jinja2) and PDF (fpdf2 with an embedded CJK font),
in Chinese or English. A certificate cites every serial range retired and links to the
transparency-log receipt bundle that proves the retirement.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from greencircle.errors import PlatformError
from greencircle.kit import fmt
from greencircle.kit.timeutil import to_local
from greencircle.registry.results import RetirementResult

TEMPLATES = Path(__file__).parent / "templates"

#: CJK-capable fonts tried in order: (path, index in a TrueType collection).
#: Debian: fonts-noto-cjk (index 2 = Noto Sans CJK SC); fonts-wqy-microhei as fallback.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "碳减排量注销证明",
        "statement": "兹证明下列减排量已在绿色经济圈登记簿中永久注销，不可再转让或使用。",
        "certificate_no": "证书编号",
        "beneficiary": "受益方",
        "purpose": "注销用途",
        "period": "抵消期间",
        "quantity": "注销数量",
        "instrument": "产品",
        "retired_by": "注销人",
        "retired_at": "注销时间",
        "transaction": "登记簿交易号",
        "log_leaf": "透明日志叶序号",
        "serials": "注销序列号",
        "proof": "证明包（透明日志包含证明与签名检查点）：",
        "verify": "可离线校验：greencircle audit verify BUNDLE.json",
    },
    "en": {
        "title": "Certificate of Retirement",
        "statement": (
            "This certifies that the units below were permanently retired in the green "
            "circle registry and can no longer be transferred or used."
        ),
        "certificate_no": "Certificate no.",
        "beneficiary": "Beneficiary",
        "purpose": "Purpose",
        "period": "Period",
        "quantity": "Quantity",
        "instrument": "Instrument",
        "retired_by": "Retired by",
        "retired_at": "Retired at",
        "transaction": "Registry transaction",
        "log_leaf": "Transparency-log leaf",
        "serials": "Serial numbers retired",
        "proof": "Proof bundle (inclusion proof and signed checkpoint):",
        "verify": "Verify offline: greencircle audit verify BUNDLE.json",
    },
}


_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


class CertificateFontMissing(PlatformError):
    """No CJK-capable font is installed (install Debian's fonts-noto-cjk)."""

    code = "certificate_font_missing"
    status_code = 500


@dataclass(frozen=True)
class Certificate:
    """A rendered certificate."""

    content: bytes
    media_type: str
    filename: str


def context(r: RetirementResult, *, holder: str, lang: str, proof_url: str) -> dict[str, Any]:
    """Template context of a certificate."""
    if lang not in LABELS:
        raise PlatformError(f"language must be one of {sorted(LABELS)}", code="invalid_language")
    return {
        "r": r,
        "t": LABELS[lang],
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "holder": holder,
        # the quantity as people read it, with the instrument class's unit (kit/fmt.py)
        "quantity": fmt.quantity(
            Decimal(r.quantity).scaleb(-r.scale),
            r.unit,
            "zh-CN" if lang == "zh" else "en",
            places=r.scale,
        ),
        "retired_at": to_local(r.created_at).strftime("%Y-%m-%d %H:%M:%S (UTC+8)"),
        "proof_url": proof_url,
    }


_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


def render_html(ctx: dict[str, Any]) -> str:
    """The certificate as an HTML page."""
    return _env.get_template("retirement_certificate.html").render(**ctx)


def cjk_font() -> tuple[str, int]:
    """The first installed CJK font (path, collection index)."""
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return path, index
    raise CertificateFontMissing(
        "no CJK font found; install Debian's fonts-noto-cjk (scripts/system-deps.sh)"
    )


def render_pdf(ctx: dict[str, Any]) -> bytes:
    """The certificate as a PDF (A4) with the CJK font embedded as a subset."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    path, index = cjk_font()
    t, r = ctx["t"], ctx["r"]
    pdf = FPDF(format="A4")
    pdf.set_title(f"{t['title']} {r.retirement_id}")
    pdf.set_creator("greencircle registry")
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.add_page()
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 14, t["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="C")
    pdf.set_font("cjk", size=10)
    pdf.multi_cell(0, 6, t["statement"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    rows = [
        ("certificate_no", r.retirement_id),
        ("beneficiary", r.beneficiary),
        ("purpose", r.purpose),
        ("period", f"{r.period_start} – {r.period_end}"),
        # the CJK font has no subscript digits: tCO₂e is printed tCO2e in the PDF
        ("quantity", ctx["quantity"].translate(_SUBSCRIPT_DIGITS)),
        ("instrument", r.instrument_code),
        ("retired_by", ctx["holder"]),
        ("retired_at", ctx["retired_at"]),
        ("transaction", r.tx_id),
        ("log_leaf", str(r.leaf_index)),
    ]
    for key, value in rows:
        pdf.set_font("cjk", size=10)
        pdf.cell(48, 7, t[key])
        pdf.multi_cell(0, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, t["serials"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=8)
    for s in r.serials:
        pdf.cell(0, 5, s, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(
        0,
        5,
        f"{t['proof']} {ctx['proof_url']}\n{t['verify']}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())


def render(r: RetirementResult, *, holder: str, lang: str, fmt: str, proof_url: str) -> Certificate:
    """Render a certificate as ``fmt`` = ``html`` or ``pdf``."""
    ctx = context(r, holder=holder, lang=lang, proof_url=proof_url)
    name = f"retirement-{r.retirement_id}-{lang}"
    if fmt == "html":
        return Certificate(render_html(ctx).encode(), "text/html; charset=utf-8", f"{name}.html")
    if fmt == "pdf":
        return Certificate(render_pdf(ctx), "application/pdf", f"{name}.pdf")
    raise PlatformError("format must be html or pdf", code="invalid_format")
