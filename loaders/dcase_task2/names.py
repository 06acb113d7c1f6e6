"""DCASE Task 2 file names: the per-year grammar (`parse_dcase_name`, `format_dcase_name`) and the
`<key>_<value>` attribute tail (`parse_attribute_tail`). Pure functions; the year's grammar, folders and
quirks come from its `YearInfo`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from dinos.errors import ParseError
from dinos.schema import Attribute

from .years import CORPUS, SUPPLEMENTAL, TEST, TRAIN, year_info


@dataclass(frozen=True)
class DcaseName:
    """What one DCASE file name says, in the shared schema's terms.

    `kind`: labelled | blind | supplemental_noise | supplemental_machine. `quirk` notes a known
    malformed form (e.g. the 2024 RoboticArm names without the `test` token); '' otherwise.
    """

    year: int
    name: str  # the file name as given (basename, `.wav` added when absent)
    section: int
    domain: str
    label: str
    origin_split: str
    number: str
    attributes: tuple[Attribute, ...] = ()
    kind: str = "labelled"
    hidden_attributes: bool = False
    quirk: str = ""

    @property
    def blind(self) -> bool:
        return self.kind == "blind"

    def schema_fields(self, machine: str, corpus: str = CORPUS) -> dict:
        """The `schema.Clip` fields this name fixes (audio-derived fields excluded)."""
        return {
            "corpus": corpus,
            "machine": machine,
            "sensor": "microphone",
            "section": self.section,
            "domain": self.domain,
            "label": self.label,
            "origin_split": self.origin_split,
            "task_class": "none",
            "class_name": "",
            "attributes": [a.model_dump() for a in self.attributes],
        }


_KEY = re.compile(r"^[A-Za-z](?:[A-Za-z0-9.\-]*[A-Za-z])?$")
NO_ATTRIBUTE = "noAttribute"
RAW_ATTRIBUTES = "file_attributes"

_R2020 = re.compile(r"^(?:(?P<label>normal|anomaly)_)?id_(?P<sec>\d{2})_(?P<num>\d{8})$")
_R2021_LABELLED = re.compile(
    r"^section_(?P<sec>\d{2})_(?P<dom>source|target)_(?P<split>train|test)_(?P<label>normal|anomaly)_(?P<num>\d{4})"
    r"(?:_(?P<attrs>.*))?$"
)
_R2021_BLIND = re.compile(r"^section_(?P<sec>\d{2})_(?P<dom>source|target)_test_(?P<num>\d{4})$")
_R_LABELLED = _R2021_LABELLED
_R_BLIND = re.compile(r"^section_(?P<sec>\d{2})_(?P<num>\d{4})$")
_R_NO_SPLIT = re.compile(
    r"^section_(?P<sec>\d{2})_(?P<dom>source|target)_(?P<label>normal|anomaly)_(?P<num>\d{4})(?:_(?P<attrs>.*))?$"
)
_R_NOISE = re.compile(r"^section_(?P<sec>\d{2})_noise_(?P<num>\d{4})(?:_(?P<attrs>.*))?$")
_R_MACHINE = re.compile(
    r"^section_(?P<sec>\d{2})_machine_(?P<dom>source|target)_(?P<num>\d{4})(?:_(?P<attrs>.*))?$"
)


def parse_attribute_tail(tail: str | None) -> tuple[tuple[Attribute, ...], bool, str]:
    """Attributes of the `<key>_<value>...` tail of a file name: (attributes, hidden, quirk).

    Read as key/value pairs when the tokens pair up (even count, keys begin and end with a letter);
    otherwise the tail is kept whole as one `file_attributes` attribute (e.g. 2021 `strength_1_ambient`,
    2024 `spd1000_BckgC`). `noAttribute` means the attributes are hidden.
    """
    if not tail:
        return (), False, ""
    if tail == NO_ATTRIBUTE:
        return (), True, ""
    tokens = tail.split("_")
    quirk = "empty attribute token" if "" in tokens else ""
    if not quirk and len(tokens) % 2 == 0 and all(_KEY.match(k) for k in tokens[0::2]):
        return (
            tuple(Attribute(name=k, value=v) for k, v in zip(tokens[0::2], tokens[1::2], strict=True)),
            False,
            "",
        )
    return (Attribute(name=RAW_ATTRIBUTES, value=tail),), False, quirk


def split_name(name: str, folder: str | None) -> tuple[str, str, str | None]:
    """(stem, base name with `.wav`, folder) of a name given with or without folders and extension."""
    p = PurePosixPath(name.replace("\\", "/"))
    if folder is None and len(p.parts) > 1:
        folder = p.parts[-2]
    base = p.name
    stem = base[:-4] if base.lower().endswith(".wav") else base
    return stem, stem + ".wav", folder


def parse_dcase_name(year: int, name: str, folder: str | None = None, where: str | None = None) -> DcaseName:
    """Parse a DCASE Task 2 file name of `year` (with or without `.wav` and leading folders).

    `folder` is the folder the file lies in (train/test/source_test/target_test/supplemental); it
    fixes the origin split where the name does not (2020, malformed 2024 names) and is checked against
    the name where it does. Raises `ParseError` naming `where` (default: the name) otherwise.
    2020 machine ids become sections (`id_04` -> section 4, domain `source`).
    """
    info = year_info(year)
    stem, base, folder = split_name(name, folder)
    where = where or name
    fsplit = None
    if folder is not None:
        fsplit = info.folder_split(folder)
        if fsplit is None:
            raise ParseError(f"folder {folder!r} is not a DCASE {info.year} data folder", where)

    def check_split(split: str, domain: str | None = None) -> str:
        if fsplit is not None:
            if fsplit[0] != split:
                raise ParseError(f"name says {split!r} but the file is in folder {folder!r}", where)
            if domain and fsplit[1] and fsplit[1] != domain:
                raise ParseError(f"name says domain {domain!r} but the file is in folder {folder!r}", where)
        return split

    if info.grammar == "id":
        m = _R2020.match(stem)
        if not m:
            raise ParseError(f"not a DCASE {info.year} name ([normal|anomaly]_id_XX_NNNNNNNN.wav)", where)
        label = m["label"] or "unknown"
        if fsplit is not None:
            split = fsplit[0]
        elif label == "normal":
            raise ParseError(f"a {info.year} `normal_` name needs its folder (train or test) to fix the split", where)
        else:
            split = TEST
        if split == TRAIN and label != "normal":
            raise ParseError(f"training data must be normal, name says {label!r}", where)
        if split not in (TRAIN, TEST):
            raise ParseError(f"{info.year} files lie in train/ or test/, not {folder!r}", where)
        return DcaseName(
            info.year,
            base,
            int(m["sec"]),
            info.domains[0],
            label,
            split,
            m["num"],
            kind="labelled" if m["label"] else "blind",
        )

    m = _R_LABELLED.match(stem)
    if m:
        split = check_split(m["split"], m["dom"])
        if split == TRAIN and m["label"] != "normal":
            raise ParseError("training data must be normal, name says 'anomaly'", where)
        attrs, hidden, quirk = parse_attribute_tail(m["attrs"])
        return DcaseName(
            info.year,
            base,
            int(m["sec"]),
            m["dom"],
            m["label"],
            split,
            m["num"],
            attrs,
            "labelled",
            hidden,
            quirk,
        )
    if info.grammar == "section_domain":
        m = _R2021_BLIND.match(stem)
        if not m:
            raise ParseError(
                f"not a DCASE {info.year} name (section_SS_<source|target>_<train|test>_<normal|anomaly>_NNNN[_attrs].wav "
                "or blind section_SS_<source|target>_test_NNNN.wav)",
                where,
            )
        check_split(TEST, m["dom"])
        return DcaseName(info.year, base, int(m["sec"]), m["dom"], "unknown", TEST, m["num"], kind="blind")
    m = _R_BLIND.match(stem)
    if m:
        check_split(TEST)
        return DcaseName(info.year, base, int(m["sec"]), "unknown", "unknown", TEST, m["num"], kind="blind")
    if info.names_without_split_token:
        m = _R_NO_SPLIT.match(stem)
        if m:
            split = fsplit[0] if fsplit is not None else TEST
            attrs, hidden, quirk = parse_attribute_tail(m["attrs"])
            return DcaseName(
                info.year, base, int(m["sec"]), m["dom"], m["label"], split, m["num"], attrs, "labelled", hidden,
                "missing train/test token" + (f"; {quirk}" if quirk else ""),
            )  # fmt: skip
    if info.supplemental_folder:
        for rx, kind in ((_R_NOISE, "supplemental_noise"), (_R_MACHINE, "supplemental_machine")):
            m = rx.match(stem)
            if m:
                check_split(SUPPLEMENTAL)
                attrs, hidden, quirk = parse_attribute_tail(m["attrs"])
                domain = m["dom"] if "dom" in rx.groupindex else "unknown"
                return DcaseName(
                    info.year,
                    base,
                    int(m["sec"]),
                    domain,
                    "normal",
                    SUPPLEMENTAL,
                    m["num"],
                    attrs,
                    kind,
                    hidden,
                    quirk,
                )
    raise ParseError(
        f"not a DCASE {info.year} name (section_SS_<source|target>_<train|test>_<normal|anomaly>_NNNN[_<key>_<value>...].wav"
        " or blind section_SS_NNNN.wav" + (", or supplemental section_SS_noise_NNNN / section_SS_machine_<domain>_NNNN"
                                           if info.supplemental_folder else "") + ")",
        where,
    )  # fmt: skip


def format_dcase_name(
    year: int,
    *,
    section: int,
    number: int,
    domain: str = "source",
    split: str = TRAIN,
    label: str | None = "normal",
    attributes: tuple[tuple[str, str], ...] | str = (),
    blind: bool = False,
) -> str:
    """The official file name for these fields (the inverse of `parse_dcase_name` for regular names)."""
    info = year_info(year)
    if info.grammar == "id":
        core = f"{info.section_keyword}_{section:02d}_{number:08d}"
        return f"{core}.wav" if blind else f"{label}_{core}.wav"
    if blind:
        if info.grammar == "section_domain":
            return f"{info.section_keyword}_{section:02d}_{domain}_{TEST}_{number:04d}.wav"
        return f"{info.section_keyword}_{section:02d}_{number:04d}.wav"
    tail = attributes if isinstance(attributes, str) else "_".join(f"{k}_{v}" for k, v in attributes)
    return (
        f"section_{section:02d}_{domain}_{split}_{label}_{number:04d}" + (f"_{tail}" if tail else "") + ".wav"
    )

