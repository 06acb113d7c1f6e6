"""The fields of one DCASE file from its name and the ground truth about it: `resolve`, a pure function.

Rule of a self-consistent row: label and domain come from the best source (the file name; for blind
eval files the evaluator, else the eval list, else a correspondence CSV), and the full-attribute file
name and the attributes come only from a source that agrees with that label and domain. A full name
that contradicts them is not used (the row keeps no attributes and says so in `provenance.quirks`);
a row never mixes the label of one source with the attributes of another that disagrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from dinos.errors import ParseError
from dinos.schema import Attribute

from .csvs import AttributeRow, EvalListEntry, merge_attributes
from .names import DcaseName, parse_dcase_name
from .years import SUPPLEMENTAL, YearInfo

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Evidence:
    """What the metadata says about one file; every field is optional.

    `evaluator`: (label, domain, full name) from the evaluator's files; `eval_list`: the eval list row;
    `correspondence`: the full name a correspondence CSV gives for the distributed name; `attribute_row`:
    the row of an `attributes_XX.csv` next to the audio.
    """

    evaluator_label: str | None = None
    evaluator_domain: str | None = None
    evaluator_full_name: str | None = None
    eval_list: EvalListEntry | None = None
    eval_list_full_name: str | None = None  # the eval list's full name, hidden attributes resolved
    correspondence: str | None = None
    attribute_row: AttributeRow | None = None

    @property
    def informative(self) -> bool:
        """The evaluator or the eval list says something about the file (it uses that ground truth)."""
        return self.eval_list is not None or any(
            (self.evaluator_label, self.evaluator_domain, self.evaluator_full_name)
        )


@dataclass(frozen=True)
class ResolvedFields:
    """The resolved domain, label, attributes and typed provenance of one file.

    `withheld`: full names found but not used because they contradict the row's label/domain;
    `hidden_unresolved`: the name hides attributes and nothing resolved them.
    """

    domain: str
    label: str
    attributes: tuple[Attribute, ...]
    provenance: dict
    withheld: tuple[str, ...] = ()
    hidden_unresolved: bool = False
    extra_attributes: tuple[Attribute, ...] = field(default=())


def _full(info: YearInfo, parsed: DcaseName, name: str, where: str) -> DcaseName:
    folder = None if parsed.origin_split == SUPPLEMENTAL else parsed.origin_split
    full = parse_dcase_name(info.year, PurePosixPath(name).name, folder, where)
    if full.section != parsed.section:
        raise ParseError(f"full name {full.name} has another section than the file", where)
    return full


def _truth_of_blind(parsed: DcaseName, ev: Evidence) -> tuple[str, str, str]:
    """(label, domain, source) of a blind file: evaluator first, then the eval list."""
    label, domain, source = parsed.label, parsed.domain, ""
    if ev.evaluator_label or ev.evaluator_domain:
        label = ev.evaluator_label or label
        domain = ev.evaluator_domain or domain
        source = "evaluator"
    entry = ev.eval_list
    if entry is not None:
        same_label = label in (UNKNOWN, entry.label)
        same_domain = domain == UNKNOWN or entry.domain in (UNKNOWN, domain)
        if same_label and same_domain:  # fill what the evaluator leaves open; never from a list contradicting it
            label = entry.label if label == UNKNOWN else label
            domain = entry.domain if domain == UNKNOWN else domain
            source = source or "eval_data_list"
    return label, domain, source


def _candidates(parsed: DcaseName, ev: Evidence) -> list[tuple[str, str]]:
    """(full name, source) in order of authority."""
    out: list[tuple[str, str]] = []
    if parsed.blind:
        if ev.evaluator_full_name:
            out.append((ev.evaluator_full_name, "evaluator"))
        if ev.eval_list_full_name:
            out.append((ev.eval_list_full_name, "eval_data_list"))
    if ev.correspondence:
        out.append((ev.correspondence, "correspondence"))
    if ev.attribute_row is not None and ev.attribute_row.full_name:
        out.append((ev.attribute_row.full_name, "attributes_csv"))
    return out


def resolve(
    info: YearInfo, parsed: DcaseName, evidence: Evidence, *, part: str, where: str = ""
) -> ResolvedFields:
    """Domain, label, attributes and provenance of the file `parsed` (pure; no I/O).

    Labelled names fix their own label/domain: a full name that contradicts them is a `ParseError`.
    Blind names take label/domain from the evaluator, else the eval list, else the first full name; the
    full name (and the attributes) then comes from the first source that agrees with them.
    """
    where = where or parsed.name
    quirks = [q for q in (parsed.quirk,) if q]
    label, domain, truth = parsed.label, parsed.domain, "file_name"
    if parsed.blind:
        label, domain, truth = _truth_of_blind(parsed, evidence)
    chosen: DcaseName | None = None
    withheld: list[str] = []
    for name, source in _candidates(parsed, evidence):
        full = _full(info, parsed, name, where)
        if parsed.blind and not truth:  # nothing else said what the file is: the full name does
            label, domain, truth = full.label, full.domain, source
        agrees = (label in (UNKNOWN, full.label)) and (domain in (UNKNOWN, full.domain))
        if not parsed.blind and not agrees and parsed.kind == "labelled":
            raise ParseError(f"full name {full.name} disagrees with the file name on domain/label", where)
        if agrees and chosen is None:
            chosen = full
            label = full.label if label == UNKNOWN else label
            domain = full.domain if domain == UNKNOWN else domain
            if full.quirk:
                quirks.append(full.quirk)
        elif not agrees:
            withheld.append(f"{full.name} ({source}: {full.domain}/{full.label})")
    attrs: tuple[Attribute, ...] = chosen.attributes if chosen is not None else parsed.attributes
    row = evidence.attribute_row
    if row is not None and not row.full_name:  # the CSV spells the values; the name keeps its tokens
        attrs = merge_attributes(row.pairs, attrs)
    if withheld and chosen is None:
        attrs = ()
        quirks.append(f"full name contradicts the {truth or 'file'} label/domain {domain}/{label}, not used: "
                      + "; ".join(withheld))  # fmt: skip
    hidden = parsed.hidden_attributes or parsed.blind
    unresolved = parsed.hidden_attributes and chosen is None
    if unresolved:
        quirks.append("attributes hidden (noAttribute) and not resolved: unknown")
    provenance = {
        "year": info.year,
        "part": part,
        "full_file_name": chosen.name if chosen is not None else "",
        "truth": truth,
        "attributes_hidden": hidden,
        "quirks": tuple(quirks),
    }
    extra = ()
    if parsed.kind.startswith("supplemental"):
        extra = (Attribute(name="supplemental_kind", value=parsed.kind.split("_", 1)[1]),)
    withheld_all = tuple(withheld) if chosen is None else ()  # a row with an agreeing full name is complete
    return ResolvedFields(domain, label, tuple(attrs), provenance, withheld_all, unresolved, extra)
