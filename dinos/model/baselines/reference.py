"""The source papers' published figures for the baselines (MIMII DUE Table 4 is read from the task
registry, `dinos.tasks`; the other seeds' headline figures live here).

All are results on the REAL corpora, copied from the papers; ours (`run_asd_benchmark`) come from
whatever data the user passes, usually the synthetic miniatures, and are never comparable in value.
"""

from __future__ import annotations

#: our baseline name -> the MIMII DUE paper's Table 4 model column. The numbers themselves live in the
#: task registry (`dinos.tasks.MIMII_DUE_TABLE4`, reachable per task as `Task.reference_results`).
MIMII_DUE_COLUMNS = {"mimii_due_ae": "AE", "mobilenetv2": "MobileNetV2"}


def mimii_due_source() -> str:
    """The citation of MIMII DUE Table 4 (from the task registry)."""
    from dinos.tasks import MIMII_DUE_TABLE4_SOURCE

    return MIMII_DUE_TABLE4_SOURCE


def mimii_due_reference(model: str, machine: str, section: int, domain: str) -> float | None:
    """The paper's Table 4 AUC (real data) for one of our baselines on (machine, section, domain), read
    from the task `mimii_due/<machine>/section_<ss>` of the registry; None where the paper has none."""
    from dinos import tasks as T

    column = MIMII_DUE_COLUMNS.get(model)
    name = f"mimii_due/{machine}/section_{int(section):02d}"
    if column is None or name not in T.task_names("mimii_due"):
        return None
    ref = T.get_task(name).reference(column, domain)
    return None if ref is None else ref.value


#: Other seeds' headline figures (real data), kept for docs/baselines.md and the report tables.
THESIS_SOURCE = "Aalborg University MSc thesis (2025), Grundfos pumps, Table 4.1 (validation set)"
THESIS_TABLE41 = {  # model -> (decision, AUC)
    "mae_vit_cnn": ("CNN on error maps", 0.996),
    "cae": ("CNN classifier head", 0.990),
    "cae_threshold": ("threshold", 0.690),
    "mae_vit": ("threshold on summed error map", 0.820),
}
BLOG_SOURCE = "AWS Machine Learning blog, MIMII fan 6 dB, Keras autoencoder, threshold 6.3"
BLOG_FIGURES = {"precision": 0.921, "recall": 0.921, "accuracy": 0.885, "f1": 0.921}
DRILL_SOURCE = "Valmet drill study (seed 002), Table II: AlexNet accuracy without / with VAE augmentation"
DRILL_TABLE2 = {  # key -> (row label, clips, accuracy), real (private) data
    "original": ("AlexNet, original clips", 134, 0.875),
    "augmented": ("AlexNet, original + VAE clips", 230, 0.9412),
}
