"""BibTeX of DCASE Task 2: the source datasets and one task-description paper per challenge year.

Pure data, read by `years.YEAR_TABLE` (each `YearInfo.citation`); `INFO.citations` is built from there."""

from __future__ import annotations

SOURCES = """@inproceedings{purohit2019mimii,
  title     = {{MIMII} Dataset: Sound Dataset for Malfunctioning Industrial Machine Investigation and Inspection},
  author    = {Purohit, Harsh and Tanabe, Ryo and Ichige, Takeshi and Endo, Takashi and Nikaido, Yuki and Suefusa, Kaori and Kawaguchi, Yohei},
  booktitle = {Proc. 4th Workshop on Detection and Classification of Acoustic Scenes and Events (DCASE)},
  pages     = {209--213},
  year      = {2019}
}
@inproceedings{koizumi2019toyadmos,
  title     = {{ToyADMOS}: A Dataset of Miniature-Machine Operating Sounds for Anomalous Sound Detection},
  author    = {Koizumi, Yuma and Saito, Shoichiro and Uematsu, Hisashi and Harada, Noboru and Imoto, Keisuke},
  booktitle = {Proc. IEEE Workshop on Applications of Signal Processing to Audio and Acoustics (WASPAA)},
  pages     = {313--317},
  year      = {2019}
}
@inproceedings{harada2021toyadmos2,
  title     = {{ToyADMOS2}: Another Dataset of Miniature-Machine Operating Sounds for Anomalous Sound Detection under Domain Shift Conditions},
  author    = {Harada, Noboru and Niizumi, Daisuke and Takeuchi, Daiki and Ohishi, Yasunori and Yasuda, Masahiro and Saito, Shoichiro},
  booktitle = {Proc. Detection and Classification of Acoustic Scenes and Events Workshop (DCASE)},
  pages     = {1--5},
  year      = {2021}
}"""

BIB_2020 = """@inproceedings{koizumi2020dcase,
  title     = {Description and Discussion on {DCASE2020} Challenge Task2: Unsupervised Anomalous Sound Detection for Machine Condition Monitoring},
  author    = {Koizumi, Yuma and Kawaguchi, Yohei and Imoto, Keisuke and Nakamura, Toshiki and Nikaido, Yuki and Tanabe, Ryo and Purohit, Harsh and Suefusa, Kaori and Endo, Takashi and Yasuda, Masahiro and Harada, Noboru},
  booktitle = {Proc. 5th Workshop on Detection and Classification of Acoustic Scenes and Events (DCASE)},
  pages     = {81--85},
  year      = {2020}
}"""
BIB_2021 = """@inproceedings{kawaguchi2021dcase,
  title     = {Description and Discussion on {DCASE} 2021 Challenge Task 2: Unsupervised Anomalous Sound Detection for Machine Condition Monitoring under Domain Shifted Conditions},
  author    = {Kawaguchi, Yohei and Imoto, Keisuke and Koizumi, Yuma and Harada, Noboru and Niizumi, Daisuke and Dohi, Kota and Tanabe, Ryo and Purohit, Harsh and Endo, Takashi},
  booktitle = {Proc. 6th Workshop on Detection and Classification of Acoustic Scenes and Events (DCASE)},
  pages     = {186--190},
  year      = {2021}
}"""
BIB_2022 = """@inproceedings{dohi2022dcase,
  title     = {Description and Discussion on {DCASE} 2022 Challenge Task 2: Unsupervised Anomalous Sound Detection for Machine Condition Monitoring Applying Domain Generalization Techniques},
  author    = {Dohi, Kota and Imoto, Keisuke and Harada, Noboru and Niizumi, Daisuke and Koizumi, Yuma and Nishida, Tomoya and Purohit, Harsh and Tanabe, Ryo and Endo, Takashi and Yamamoto, Masaaki and Kawaguchi, Yohei},
  booktitle = {Proc. 7th Workshop on Detection and Classification of Acoustic Scenes and Events (DCASE)},
  year      = {2022}
}"""
BIB_2023 = """@inproceedings{dohi2023dcase,
  title     = {Description and Discussion on {DCASE} 2023 Challenge Task 2: First-Shot Unsupervised Anomalous Sound Detection for Machine Condition Monitoring},
  author    = {Dohi, Kota and Imoto, Keisuke and Harada, Noboru and Niizumi, Daisuke and Koizumi, Yuma and Nishida, Tomoya and Purohit, Harsh and Tanabe, Ryo and Endo, Takashi and Kawaguchi, Yohei},
  booktitle = {Proc. 8th Workshop on Detection and Classification of Acoustic Scenes and Events (DCASE)},
  year      = {2023},
  note      = {arXiv:2305.07828}
}"""
BIB_2024 = """@article{nishida2024dcase,
  title   = {Description and Discussion on {DCASE} 2024 Challenge Task 2: First-Shot Unsupervised Anomalous Sound Detection for Machine Condition Monitoring},
  author  = {Nishida, Tomoya and Harada, Noboru and Niizumi, Daisuke and Albertini, Davide and Sannino, Roberto and Pradolini, Simone and Augusti, Filippo and Imoto, Keisuke and Dohi, Kota and Purohit, Harsh and Endo, Takashi and Kawaguchi, Yohei},
  journal = {arXiv preprint arXiv:2406.07250},
  year    = {2024}
}"""
BIB_2025 = """@article{nishida2025dcase,
  title   = {Description and Discussion on {DCASE} 2025 Challenge Task 2: First-shot Unsupervised Anomalous Sound Detection for Machine Condition Monitoring},
  author  = {Nishida, Tomoya and Harada, Noboru and Niizumi, Daisuke and Albertini, Davide and Sannino, Roberto and Pradolini, Simone and Augusti, Filippo and Imoto, Keisuke and Dohi, Kota and Purohit, Harsh and Endo, Takashi and Kawaguchi, Yohei},
  journal = {arXiv preprint arXiv:2506.10097},
  year    = {2025}
}"""
BIB_2026 = """@misc{dcase2026task2,
  title        = {{DCASE} 2026 Challenge Task 2: Unsupervised Anomalous Sound Detection for Machine Condition Monitoring},
  howpublished = {DCASE Challenge 2026 task page and Zenodo records 19336329 (development) and 20151556 (additional training)},
  year         = {2026},
  note         = {No task description paper was known to this project; unverified}
}"""
