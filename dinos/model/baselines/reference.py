"""The source papers' published figures for the baselines: the one home of these numbers.

All are results on the REAL corpora, copied from the papers; ours (`run_asd_benchmark`) come from
whatever data the user passes, usually the synthetic miniatures, and are never comparable in value.
"""

from __future__ import annotations

#: Source of MIMII_DUE_TABLE4.
MIMII_DUE_SOURCE = (
    "Tanabe et al., 'MIMII DUE: Sound dataset for malfunctioning industrial machine investigation and "
    "inspection with domain shifts due to changes in operational and environmental conditions', "
    "WASPAA 2021 (arXiv:2105.02702), Table 4: AUC per section and domain, development sections 00-02"
)

#: Table 4 of the MIMII DUE paper: model -> machine -> section -> domain -> AUC (real data).
#: Machine names are the corpus' folder names (`slider` is the paper's "slide rail").
MIMII_DUE_TABLE4: dict[str, dict[str, dict[int, dict[str, float]]]] = {
    "mimii_due_ae": {
        "fan": {0: {"source": 0.667, "target": 0.697}, 1: {"source": 0.674, "target": 0.500},
                2: {"source": 0.642, "target": 0.662}},
        "gearbox": {0: {"source": 0.560, "target": 0.743}, 1: {"source": 0.728, "target": 0.721},
                    2: {"source": 0.590, "target": 0.664}},
        "pump": {0: {"source": 0.675, "target": 0.580}, 1: {"source": 0.824, "target": 0.474},
                 2: {"source": 0.639, "target": 0.628}},
        "slider": {0: {"source": 0.741, "target": 0.672}, 1: {"source": 0.822, "target": 0.669},
                   2: {"source": 0.783, "target": 0.462}},
        "valve": {0: {"source": 0.503, "target": 0.471}, 1: {"source": 0.535, "target": 0.564},
                  2: {"source": 0.599, "target": 0.552}},
    },
    "mobilenetv2": {
        "fan": {0: {"source": 0.436, "target": 0.533}, 1: {"source": 0.783, "target": 0.781},
                2: {"source": 0.742, "target": 0.604}},
        "gearbox": {0: {"source": 0.814, "target": 0.750}, 1: {"source": 0.607, "target": 0.563},
                    2: {"source": 0.716, "target": 0.644}},
        "pump": {0: {"source": 0.641, "target": 0.591}, 1: {"source": 0.863, "target": 0.719},
                 2: {"source": 0.537, "target": 0.502}},
        "slider": {0: {"source": 0.615, "target": 0.520}, 1: {"source": 0.800, "target": 0.468},
                   2: {"source": 0.799, "target": 0.556}},
        "valve": {0: {"source": 0.583, "target": 0.522}, 1: {"source": 0.536, "target": 0.686},
                  2: {"source": 0.561, "target": 0.536}},
    },
}


def mimii_due_reference(model: str, machine: str, section: int, domain: str) -> float | None:
    """The paper's Table 4 AUC for a (model, machine, section, domain), or None where it has none."""
    return MIMII_DUE_TABLE4.get(model, {}).get(machine, {}).get(int(section), {}).get(domain)


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
