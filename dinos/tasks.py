"""The task registry: one typed, machine-readable table of the benchmark tasks.

DINOS tasks (paper Table 2) are derived from `dinos.loaders.dinos` (`CLASSES`, `ASD_TASKS`), the
single source of truth for classes and counts. MIMII DUE and DCASE Task 2 anomaly-detection tasks
(one per machine and section) are derived from their loaders' tables, imported lazily so that a
missing or broken optional loader never breaks `import dinos.tasks`.

Used by `dinos.splits` (which tasks get split files), the cards, `dinos validate` and the benchmark.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from .errors import DinosError

#: Protocols: `monte_carlo` = 10 x (15 % train / 85 % eval) split files; `official` = the corpus'
#: published train/test folders (no split files).
PROTOCOLS = ("monte_carlo", "official")
KINDS = ("classification", "anomaly_detection")

#: Paper protocol (Section "Benchmarking"): 15 % train, 85 % evaluation, 10 repeats, stratified.
TRAIN_FRACTION = "0.15"
REPEATS = 10


@dataclass(frozen=True)
class TaskClass:
    """One class of a task: its id in the label column, a readable name and the paper's count."""

    id: str  # value of the task's label column: "T6" or "normal"/"anomaly"
    name: str
    paper_count: int | None = None  # samples in paper Table 2 (None where the paper gives none)
    label: str = "normal"  # normal | anomaly (ASD view of the class)


@dataclass(frozen=True)
class PaperResult:
    """A published result (mean and standard deviation over the paper's 10 repeats)."""

    model: str
    mean: float
    std: float
    source: str = "Table 3"


@dataclass(frozen=True)
class ReferenceResult:
    """A published figure for one domain of a task (real data; a single value, no spread): e.g. the
    MIMII DUE paper's Table 4 AUC of its AE baseline for fan section 00, source domain."""

    model: str  # the paper's model column ("AE", "MobileNetV2")
    domain: str  # source | target
    value: float
    metric: str = "AUC"
    source: str = ""


@dataclass(frozen=True)
class Task:
    """A benchmark task: which rows, which label column, which metric, which split protocol."""

    name: str  # "dinos/T6-T17", "mimii_due/fan/section_00", "dcase_task2/2023/fan/section_00"
    corpus: str  # builder name for dinos.load_dataset
    config: str | None  # builder config name
    kind: str  # classification | anomaly_detection
    metric: str  # "mAP", "AUROC", "DCASE official score"
    label_column: str  # task_class | label
    classes: tuple[TaskClass, ...]
    protocol: str  # monte_carlo | official
    description: str = ""
    group_column: str = "recording_id"
    repeats: int = REPEATS  # Monte Carlo repeats (0 for the official protocol)
    train_fraction: str = TRAIN_FRACTION  # exact decimal, as a string
    filters: tuple[tuple[str, object], ...] = ()  # (column, value) pairs selecting the task's rows
    year: int | None = None
    paper_results: tuple[PaperResult, ...] = ()  # the IMPACT variants of Table 3
    #: every model column of Table 3 (real DINOS) for this task's row
    paper_table3: tuple[PaperResult, ...] = ()
    #: Table 4: (class id, or the task id for T26/T27) -> every model column
    paper_table4: tuple[tuple[str, tuple[PaperResult, ...]], ...] = ()
    #: per-domain published figures of official-protocol tasks (MIMII DUE Table 4), real data
    reference_results: tuple[ReferenceResult, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def class_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.classes)

    @property
    def paper_total(self) -> int | None:
        counts = [c.paper_count for c in self.classes]
        return None if any(c is None for c in counts) else sum(counts)

    @property
    def has_split_files(self) -> bool:
        return self.protocol == "monte_carlo"

    @property
    def file_stem(self) -> str:
        """Name of the task's split file (without `.json`) inside `splits/<variant>/<corpus>/`."""
        return self.name.split("/", 1)[1].replace("/", "_")

    def to_dict(self) -> dict:
        """Plain JSON-ready form (lists instead of tuples)."""
        d = asdict(self)
        d["filters"] = {k: v for k, v in self.filters}
        d["paper_total"] = self.paper_total
        d["paper_table4"] = {tid: [asdict(r) for r in rs] for tid, rs in self.paper_table4}
        return d

    def paper(self, model: str, class_id: str | None = None) -> PaperResult | None:
        """The paper's result of `model` (a `PAPER_MODELS` name) for this task (Table 3), or for one
        class / task id (Table 4); None when the paper gives none."""
        rows = self.paper_table3 if class_id is None else dict(self.paper_table4).get(class_id, ())
        return next((r for r in rows if r.model == model), None)

    def reference(self, model: str, domain: str) -> ReferenceResult | None:
        """The published figure of `model` (a paper column, e.g. `AE`) for `domain`, or None."""
        return next((r for r in self.reference_results if r.model == model and r.domain == domain), None)


# --------------------------------------------------------------------------------------------
# DINOS (paper Table 2 / Table 3)
# --------------------------------------------------------------------------------------------
#: Paper Table 3 / Table 4 model columns, in order (transcribed from the paper).
PAPER_MODELS = (
    'OpenSMILE', 'CLAP', 'VGGish', 'OPERA-CT', 'OPERA-GT',
    'AudioMAE-PreT', 'AudioMAE-FineT', 'IMPACT-DCASE', 'IMPACT-DINOS', 'IMPACT-Hybrid',
)
#: Paper Table 3 (real DINOS): (dataset, metric) -> (mean, std) per model of PAPER_MODELS.
_TABLE3 = {
    ('RenishawL', 'mAP'): (
        (0.5, 0.0), (1.0, 0.0), (0.9891, 0.0108), (1.0, 0.0), (1.0, 0.0),
        (0.9959, 0.0024), (0.9866, 0.0194), (1.0, 0.0), (1.0, 0.0), (1.0, 0.0),
    ),
    ('VF2', 'mAP'): (
        (0.3556, 0.0349), (0.9364, 0.0145), (0.8736, 0.0208), (0.9596, 0.0162), (0.9594, 0.0126),
        (0.9418, 0.0166), (0.9655, 0.0196), (0.9771, 0.0078), (0.9746, 0.0108), (0.9737, 0.0104),
    ),
    ('Yornew', 'mAP'): (
        (0.0832, 0.0003), (0.8043, 0.0368), (0.5461, 0.0256), (0.8039, 0.0189), (0.8516, 0.0275),
        (0.5743, 0.0167), (0.689, 0.0338), (0.8316, 0.0408), (0.8841, 0.0231), (0.8971, 0.025),
    ),
    ('ColdSpray', 'mAP'): (
        (0.1271, 0.0045), (0.8137, 0.006), (0.7771, 0.0079), (0.9415, 0.0063), (0.9297, 0.0062),
        (0.737, 0.0141), (0.837, 0.01), (0.8344, 0.0049), (0.9125, 0.007), (0.9277, 0.0072),
    ),
    ('Yornew', 'AUROC'): (
        (0.5645, 0.0065), (0.8778, 0.0292), (0.7403, 0.0153), (0.8828, 0.014), (0.8523, 0.022),
        (0.6224, 0.0148), (0.7, 0.0363), (0.7777, 0.0238), (0.9121, 0.0206), (0.9077, 0.0181),
    ),
    ('ColdSpray', 'AUROC'): (
        (0.4635, 0.0119), (0.7163, 0.0105), (0.6824, 0.0083), (0.7724, 0.0074), (0.722, 0.0112),
        (0.4371, 0.0129), (0.6316, 0.0186), (0.7176, 0.0123), (0.7852, 0.0064), (0.8041, 0.0144),
    ),
}
#: Paper Table 4 (real DINOS): task id (T1-T25 per-class AP, T26/T27 AUROC) -> (mean, std) per model.
_TABLE4 = {
    'T1': (
        (0.7357, 0.0), (1.0, 0.0), (0.9857, 0.015), (1.0, 0.0), (1.0, 0.0),
        (0.9987, 0.0009), (0.9882, 0.0173), (1.0, 0.0), (1.0, 0.0), (1.0, 0.0),
    ),
    'T2': (
        (0.2643, 0.0), (1.0, 0.0), (0.9926, 0.0181), (1.0, 0.0), (1.0, 0.0),
        (0.9931, 0.0036), (0.985, 0.0197), (1.0, 0.0), (1.0, 0.0), (1.0, 0.0),
    ),
    'T3': (
        (0.2904, 0.0861), (0.972, 0.0074), (0.9003, 0.0281), (0.9856, 0.004), (0.9824, 0.005),
        (0.9366, 0.0202), (0.9714, 0.0358), (0.9828, 0.0045), (0.981, 0.0136), (0.9802, 0.0108),
    ),
    'T4': (
        (0.4596, 0.0134), (0.9211, 0.0337), (0.8809, 0.0283), (0.9477, 0.0219), (0.9469, 0.0239),
        (0.9163, 0.0259), (0.9567, 0.0173), (0.9686, 0.0139), (0.9662, 0.0167), (0.9662, 0.016),
    ),
    'T5': (
        (0.3168, 0.0), (0.9161, 0.0118), (0.8395, 0.0249), (0.9455, 0.0242), (0.949, 0.0143),
        (0.9725, 0.0085), (0.9683, 0.0157), (0.9797, 0.0067), (0.9767, 0.0092), (0.9746, 0.0079),
    ),
    'T6': (
        (0.0839, 0.0021), (0.9093, 0.0956), (0.7451, 0.0872), (0.8947, 0.0632), (0.9613, 0.0309),
        (0.5663, 0.0761), (0.8744, 0.0751), (0.9796, 0.0326), (0.985, 0.0132), (0.986, 0.0165),
    ),
    'T7': (
        (0.0835, 0.0038), (0.6842, 0.0839), (0.2148, 0.0546), (0.7349, 0.0772), (0.7505, 0.0621),
        (0.3421, 0.1334), (0.5098, 0.1502), (0.6573, 0.0937), (0.7675, 0.0831), (0.7863, 0.0683),
    ),
    'T8': (
        (0.0847, 0.0001), (0.5057, 0.0932), (0.2868, 0.0703), (0.6324, 0.0611), (0.6554, 0.0526),
        (0.1983, 0.0559), (0.388, 0.0746), (0.5373, 0.0545), (0.6705, 0.0719), (0.7007, 0.0741),
    ),
    'T9': (
        (0.0802, 0.0008), (0.8383, 0.0808), (0.6204, 0.0464), (0.7486, 0.0707), (0.8358, 0.0609),
        (0.7242, 0.099), (0.4217, 0.1017), (0.8687, 0.0713), (0.9385, 0.0522), (0.941, 0.0318),
    ),
    'T10': (
        (0.0823, 0.0), (0.8515, 0.0884), (0.6762, 0.1153), (0.9389, 0.0132), (0.9452, 0.0348),
        (0.6566, 0.1059), (0.5898, 0.1319), (0.9185, 0.0557), (0.9547, 0.0372), (0.9644, 0.0421),
    ),
    'T11': (
        (0.0847, 0.0), (0.8524, 0.1008), (0.4504, 0.1164), (0.8358, 0.1397), (0.8751, 0.1293),
        (0.5614, 0.089), (0.6929, 0.1539), (0.8475, 0.1214), (0.9483, 0.1453), (0.9553, 0.1279),
    ),
    'T12': (
        (0.0847, 0.0), (0.8706, 0.1282), (0.5404, 0.1074), (0.9198, 0.0367), (0.9509, 0.0392),
        (0.6029, 0.05), (0.8896, 0.1115), (0.9203, 0.0819), (0.9898, 0.02), (0.9886, 0.0217),
    ),
    'T13': (
        (0.0847, 0.0), (0.9574, 0.0193), (0.7908, 0.0377), (0.9354, 0.0525), (0.9557, 0.0282),
        (0.7754, 0.1239), (0.9167, 0.074), (0.9785, 0.0138), (0.9819, 0.0105), (0.9924, 0.0056),
    ),
    'T14': (
        (0.0802, 0.0006), (0.9654, 0.021), (0.6397, 0.0942), (0.897, 0.0549), (0.945, 0.0445),
        (0.5045, 0.1076), (0.6069, 0.1165), (0.8788, 0.1238), (0.9872, 0.0128), (0.9898, 0.01),
    ),
    'T15': (
        (0.0847, 0.0), (0.7856, 0.0655), (0.5248, 0.0482), (0.5963, 0.0836), (0.6489, 0.058),
        (0.6484, 0.0308), (0.6452, 0.0426), (0.6773, 0.0742), (0.6987, 0.0908), (0.7044, 0.0771),
    ),
    'T16': (
        (0.0823, 0.0), (0.5714, 0.0954), (0.5592, 0.0744), (0.6315, 0.0825), (0.7168, 0.1006),
        (0.5199, 0.0807), (0.8164, 0.0286), (0.7527, 0.0956), (0.7544, 0.0682), (0.782, 0.0688),
    ),
    'T17': (
        (0.0823, 0.0), (0.86, 0.0451), (0.5046, 0.0667), (0.8815, 0.0653), (0.9785, 0.0206),
        (0.7918, 0.0848), (0.916, 0.0747), (0.9628, 0.0343), (0.9322, 0.084), (0.9741, 0.0351),
    ),
    'T18': (
        (0.2445, 0.0), (0.9426, 0.0092), (0.8499, 0.0209), (0.9836, 0.0061), (0.9782, 0.0048),
        (0.864, 0.0103), (0.9755, 0.0049), (0.9502, 0.0095), (0.9915, 0.0035), (0.9932, 0.0033),
    ),
    'T19': (
        (0.0951, 0.0), (0.9586, 0.0121), (0.9093, 0.0138), (0.9828, 0.008), (0.9812, 0.0057),
        (0.7424, 0.0272), (0.9453, 0.0156), (0.92, 0.0115), (0.9863, 0.0071), (0.9925, 0.0046),
    ),
    'T20': (
        (0.0776, 0.0), (0.8959, 0.0148), (0.7744, 0.0262), (0.9642, 0.0087), (0.9543, 0.0159),
        (0.7376, 0.0617), (0.9513, 0.0114), (0.9243, 0.0113), (0.9803, 0.0108), (0.9851, 0.0114),
    ),
    'T21': (
        (0.0774, 0.0), (0.9308, 0.0241), (0.8387, 0.0388), (0.9886, 0.0055), (0.9795, 0.0123),
        (0.9854, 0.0057), (1.0, 0.0001), (0.9951, 0.0034), (0.9996, 0.001), (0.9991, 0.0013),
    ),
    'T22': (
        (0.2548, 0.0018), (0.9171, 0.0059), (0.8827, 0.0106), (0.9734, 0.0043), (0.9691, 0.0044),
        (0.8446, 0.0232), (0.9321, 0.0108), (0.9399, 0.0079), (0.9731, 0.0025), (0.9766, 0.0025),
    ),
    'T23': (
        (0.1129, 0.0361), (0.4718, 0.0302), (0.4735, 0.0224), (0.8401, 0.0199), (0.7842, 0.0296),
        (0.3452, 0.0203), (0.4459, 0.0478), (0.5578, 0.034), (0.6844, 0.0238), (0.7443, 0.0341),
    ),
    'T24': (
        (0.0776, 0.0), (0.393, 0.0207), (0.4948, 0.0356), (0.7995, 0.0334), (0.791, 0.0245),
        (0.377, 0.0135), (0.446, 0.0493), (0.3882, 0.0228), (0.6852, 0.0392), (0.7311, 0.0263),
    ),
    'T25': (
        (0.0774, 0.0), (1.0, 0.0), (0.9938, 0.0081), (1.0, 0.0), (1.0, 0.0),
        (0.9999, 0.0001), (1.0, 0.0001), (1.0, 0.0), (1.0, 0.0), (1.0, 0.0),
    ),
    'T26': (
        (0.5645, 0.0065), (0.8778, 0.0292), (0.7403, 0.0153), (0.8828, 0.014), (0.8523, 0.022),
        (0.6224, 0.0148), (0.7, 0.0363), (0.7777, 0.0238), (0.9121, 0.0206), (0.9077, 0.0181),
    ),
    'T27': (
        (0.4635, 0.0119), (0.7163, 0.0105), (0.6824, 0.0083), (0.7724, 0.0074), (0.722, 0.0112),
        (0.4371, 0.0129), (0.6316, 0.0186), (0.7176, 0.0123), (0.7852, 0.0064), (0.8041, 0.0144),
    ),
}
#: the IMPACT columns, kept as `Task.paper_results` (the cards quote them)
_IMPACT = PAPER_MODELS[-3:]

#: Paper Table 1, benchmarking rows: (dataset, sensor) -> 1-s clips. Table 2's per-class counts
#: must add up to these (tests check it); `dinos validate dinos` compares a local copy with both.
PAPER_TABLE1_BENCHMARK = {
    ("VF2", "stethoscope"): 1_118,
    ("RenishawL", "stethoscope"): 524,
    ("Yornew", "stethoscope"): 461,
    ("Yornew", "microphone"): 461,
    ("ColdSpray", "stethoscope"): 2_455,
    ("ColdSpray", "microphone"): 2_509,
}
#: Durations of the published DINOS files (paper Table 1), seconds.
DINOS_DOWNSTREAM_SECONDS = 1.0
DINOS_PRETRAIN_SECONDS = 59.0


def _results(dataset: str, metric: str, models: tuple[str, ...] = _IMPACT) -> tuple[PaperResult, ...]:
    rows = dict(zip(PAPER_MODELS, _TABLE3.get((dataset, metric), ()), strict=False))
    return tuple(PaperResult(m, *rows[m]) for m in models if m in rows)


def _table4(ids: tuple[str, ...]) -> tuple[tuple[str, tuple[PaperResult, ...]], ...]:
    return tuple(
        (tid, tuple(PaperResult(m, mean, std, "Table 4") for m, (mean, std) in zip(PAPER_MODELS, _TABLE4[tid],
                                                                                     strict=True)))
        for tid in ids if tid in _TABLE4
    )


def _dinos_tasks() -> list[Task]:
    from .loaders import dinos as D

    config_of = {folder: cfg for cfg, folder in D.DATASET_FOLDERS.items()}
    tasks = []
    by_dataset: dict[str, list] = {}
    for c in D.CLASSES:
        by_dataset.setdefault(c.dataset, []).append(c)
    for dataset, classes in by_dataset.items():
        first, last = classes[0].task, classes[-1].task
        notes = tuple(f"{c.task}: {c.note}" for c in classes if c.note)
        tasks.append(
            Task(
                name=f"dinos/{first}-{last}",
                corpus="dinos",
                config=config_of[dataset],
                kind="classification",
                metric="mAP",
                label_column="task_class",
                classes=tuple(TaskClass(c.task, c.name, c.paper_count, c.label) for c in classes),
                protocol="monte_carlo",
                group_column="group_id",
                description=f"{dataset}: {len(classes)}-class classification ({first}-{last}), linear probe.",
                paper_results=_results(dataset, "mAP"),
                paper_table3=_results(dataset, "mAP", PAPER_MODELS),
                paper_table4=_table4(tuple(c.task for c in classes)),
                notes=notes,
            )
        )
    for tid, spec in D.ASD_TASKS.items():
        counts = spec["paper_counts"]
        tasks.append(
            Task(
                name=f"dinos/{tid}",
                corpus="dinos",
                config=config_of[spec["dataset"]],
                kind="anomaly_detection",
                metric="AUROC",
                label_column="label",
                classes=(
                    TaskClass("normal", "normal", counts["normal"], "normal"),
                    TaskClass("anomaly", "anomaly", counts["anomaly"], "anomaly"),
                ),
                protocol="monte_carlo",
                group_column="group_id",
                description=f"{spec['base']} anomaly detection ({tid}), autoencoder head.",
                paper_results=_results(spec["base"], "AUROC"),
                paper_table3=_results(spec["base"], "AUROC", PAPER_MODELS),
                paper_table4=_table4((tid,)),
            )
        )
    return tasks


# --------------------------------------------------------------------------------------------
# MIMII DUE and DCASE Task 2: one ASD task per machine and section (official train/test split)
# --------------------------------------------------------------------------------------------
_ASD_CLASSES = (TaskClass("normal", "normal", None, "normal"), TaskClass("anomaly", "anomaly", None, "anomaly"))


def _optional_module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None  # loader not shipped (yet): its tasks are simply absent
        raise


def _dcase_metric(year: int) -> str:
    """The year's scoring in one line, derived from its scoring scheme (`YearInfo.scoring`)."""
    from .metrics.schemes import scheme_for

    return scheme_for(year).summary()


#: Source of MIMII_DUE_TABLE4.
MIMII_DUE_TABLE4_SOURCE = (
    "Tanabe et al., 'MIMII DUE: Sound dataset for malfunctioning industrial machine investigation and "
    "inspection with domain shifts due to changes in operational and environmental conditions', "
    "WASPAA 2021 (arXiv:2105.02702), Table 4: AUC per section and domain, development sections 00-02"
)

#: MIMII DUE paper Table 4 (REAL data), the one home of these numbers: paper model column -> machine
#: (the corpus' folder name; `slider` is the paper's "slide rail") -> section -> (source AUC, target AUC).
#: `dinos.model.baselines.reference` reads them from here (`Task.reference_results`).
MIMII_DUE_TABLE4: dict[str, dict[str, dict[int, tuple[float, float]]]] = {
    "AE": {
        "fan": {0: (0.667, 0.697), 1: (0.674, 0.500), 2: (0.642, 0.662)},
        "gearbox": {0: (0.560, 0.743), 1: (0.728, 0.721), 2: (0.590, 0.664)},
        "pump": {0: (0.675, 0.580), 1: (0.824, 0.474), 2: (0.639, 0.628)},
        "slider": {0: (0.741, 0.672), 1: (0.822, 0.669), 2: (0.783, 0.462)},
        "valve": {0: (0.503, 0.471), 1: (0.535, 0.564), 2: (0.599, 0.552)},
    },
    "MobileNetV2": {
        "fan": {0: (0.436, 0.533), 1: (0.783, 0.781), 2: (0.742, 0.604)},
        "gearbox": {0: (0.814, 0.750), 1: (0.607, 0.563), 2: (0.716, 0.644)},
        "pump": {0: (0.641, 0.591), 1: (0.863, 0.719), 2: (0.537, 0.502)},
        "slider": {0: (0.615, 0.520), 1: (0.800, 0.468), 2: (0.799, 0.556)},
        "valve": {0: (0.583, 0.522), 1: (0.536, 0.686), 2: (0.561, 0.536)},
    },
}


def _mimii_reference(machine: str, section: int) -> tuple[ReferenceResult, ...]:
    return tuple(
        ReferenceResult(model, dom, by_machine[machine][section][i], "AUC", "MIMII DUE paper Table 4")
        for model, by_machine in MIMII_DUE_TABLE4.items() if section in by_machine.get(machine, {})
        for i, dom in enumerate(("source", "target"))
    )


def _mimii_tasks() -> list[Task]:
    mod = _optional_module("dinos.loaders.mimii_due")
    if mod is None:
        return []
    out = []
    for machine in mod.MACHINES:
        for s in mod.SECTIONS:
            info = mod.SECTION_BY_KEY.get((machine, s))
            part = "development" if s in mod.DEV_SECTIONS else "evaluation"
            out.append(
                Task(
                    name=f"mimii_due/{machine}/section_{s:02d}",
                    corpus="mimii_due",
                    config=machine,
                    kind="anomaly_detection",
                    metric=_dcase_metric(mod.YEAR),
                    label_column="label",
                    classes=_ASD_CLASSES,
                    protocol="official",
                    description=f"MIMII DUE {machine} section {s:02d} ({part} data): anomaly detection, "
                    "official train/test split."
                    + (f" Domain shift: {info.domain_shift}." if info else ""),
                    repeats=0,
                    train_fraction="",
                    filters=(("machine", machine), ("section", s)),
                    year=mod.YEAR,
                    reference_results=_mimii_reference(machine, s),
                )
            )
    return out


def _dcase_tasks() -> list[Task]:
    mod = _optional_module("dinos.loaders.dcase_task2")
    if mod is None:
        return []
    out = []
    for year, info in sorted(mod.YEAR_TABLE.items()):
        keyword = getattr(info, "section_keyword", "section")
        for part in ("dev", "eval"):
            for machine in info.machines:
                for s in info.sections(part, machine):
                    out.append(
                        Task(
                            name=f"dcase_task2/{year}/{machine}/{keyword}_{s:02d}",
                            corpus="dcase_task2",
                            config=f"{year}-{machine}",
                            kind="anomaly_detection",
                            metric=_dcase_metric(year),
                            label_column="label",
                            classes=_ASD_CLASSES,
                            protocol="official",
                            description=f"DCASE {year} Task 2 {machine} {keyword} {s:02d} ({part} data): "
                            "anomaly detection, official train/test split.",
                            repeats=0,
                            train_fraction="",
                            filters=(("machine", machine), ("section", s)),
                            year=year,
                        )
                    )
    return out


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _registry() -> dict[str, Task]:
    tasks = _dinos_tasks() + _mimii_tasks() + _dcase_tasks()
    out: dict[str, Task] = {}
    for t in tasks:
        if t.name in out:
            raise DinosError(f"task registry: duplicate task name {t.name!r}")
        out[t.name] = t
    return out


def all_tasks(corpus: str | None = None) -> list[Task]:
    """Every registered task (optionally of one corpus), in registry order."""
    return [t for t in _registry().values() if corpus is None or t.corpus == corpus]


def task_names(corpus: str | None = None) -> list[str]:
    return [t.name for t in all_tasks(corpus)]


def get_task(name: str) -> Task:
    """The task called `name`; `DinosError` listing close names otherwise."""
    try:
        return _registry()[name]
    except KeyError:
        corpus = name.split("/", 1)[0]
        known = task_names(corpus) or task_names("dinos")
        raise DinosError(f"unknown task {name!r}; known {corpus!r} tasks: {', '.join(known[:12])}") from None


def split_file_tasks(corpus: str = "dinos") -> list[Task]:
    """Tasks of `corpus` that use Monte Carlo split files."""
    return [t for t in all_tasks(corpus) if t.has_split_files]


def as_records(corpus: str | None = None) -> list[dict]:
    """The registry as JSON-ready dicts (for cards, `dinos splits tasks --json`, the benchmark)."""
    return [t.to_dict() for t in all_tasks(corpus)]
