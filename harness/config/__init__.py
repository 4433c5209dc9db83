"""Configuration: Hydra composition of ``configs/`` and ``scaffolds/`` into a validated
``RunConfig``, and loading single config files (models, scaffolds, prompt sets, rubrics,
judges with their prompt templates, calibration sets, a study's published figures).

``files`` knows where each kind lives and loads one file; ``compose`` runs Hydra; ``run``
validates the composed tree into a ``RunConfig`` within the input bounds of ``limits``;
``calibration`` loads known-answer sets; ``published`` a study's published figures;
``protocol`` and ``protocol_diff`` fixed-scaffolding protocols (what a study holds fixed, its
hash, protocol files, differences). It runs nothing.
"""

from __future__ import annotations

from harness.config.calibration import calibration_dir, list_calibration_sets, load_calibration_set
from harness.config.compose import compose, expand_all_selections, hydra_context
from harness.config.files import (
    KINDS,
    check_prompt_source,
    config_dir,
    describe_validation_error,
    display_path,
    kind_dir,
    list_names,
    load_spec,
    load_spec_file,
    read_yaml,
    spec_path,
    validate_spec,
    with_included,
    with_prompt,
)
from harness.config.protocol import (
    FIXED_BY_PROTOCOL,
    analysis_overrides,
    build_protocol,
    check_protocol_overrides,
    common_sampling,
    read_protocol,
    write_protocol,
)
from harness.config.protocol_diff import Difference, diff_protocols, sampling_differences
from harness.config.published import (
    PAPER_FIGURES,
    load_published_figures,
    published_figures_path,
)
from harness.config.run import (
    SIMULATED_BANNER,
    RunConfig,
    apply_protocol,
    protocol_of_config,
    resolve,
)

__all__ = [
    "FIXED_BY_PROTOCOL",
    "KINDS",
    "PAPER_FIGURES",
    "SIMULATED_BANNER",
    "Difference",
    "RunConfig",
    "analysis_overrides",
    "apply_protocol",
    "build_protocol",
    "calibration_dir",
    "check_prompt_source",
    "check_protocol_overrides",
    "common_sampling",
    "compose",
    "config_dir",
    "describe_validation_error",
    "diff_protocols",
    "display_path",
    "expand_all_selections",
    "hydra_context",
    "kind_dir",
    "list_calibration_sets",
    "list_names",
    "load_calibration_set",
    "load_published_figures",
    "load_spec",
    "load_spec_file",
    "protocol_of_config",
    "published_figures_path",
    "read_protocol",
    "read_yaml",
    "resolve",
    "sampling_differences",
    "spec_path",
    "validate_spec",
    "with_included",
    "with_prompt",
    "write_protocol",
]
