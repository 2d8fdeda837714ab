"""Generated from great-expectations 1.24.1 by `python -m retrain_core.policy.expectation_gen`: do not edit.

ARGUMENTS: each usable expectation's arguments (kinds of value, choices, bounds, required).
REFUSED: expectations a policy cannot use, and why.
"""

# ruff: noqa: E501
from typing import Any

ARGUMENTS: dict[str, dict[str, dict[str, Any]]] = {
    "expect_column_distinct_values_to_be_in_set": {
        "column": {"kinds": ["string"], "required": True},
        "value_set": {"kinds": ["list"], "required": True},
    },
    "expect_column_distinct_values_to_contain_set": {
        "column": {"kinds": ["string"], "required": True},
        "value_set": {"kinds": ["list"], "required": True},
    },
    "expect_column_distinct_values_to_equal_set": {
        "column": {"kinds": ["string"], "required": True},
        "value_set": {"kinds": ["list"], "required": True},
    },
    "expect_column_kl_divergence_to_be_less_than": {
        "column": {"kinds": ["string"], "required": True},
        "threshold": {"kinds": ["null", "number"]},
        "internal_weight_holdout": {"ge": 0.0, "le": 1.0, "kinds": ["null", "number"]},
        "tail_weight_holdout": {"ge": 0.0, "le": 1.0, "kinds": ["null", "number"]},
        "bucketize_data": {"kinds": ["boolean"]},
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
    },
    "expect_column_max_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_mean_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_median_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_min_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_most_common_value_to_be_in_set": {
        "column": {"kinds": ["string"], "required": True},
        "value_set": {"kinds": ["list"], "required": True},
        "ties_okay": {"kinds": ["boolean", "null"]},
    },
    "expect_column_pair_values_a_to_be_greater_than_b": {
        "column_A": {"kinds": ["string"], "required": True},
        "column_B": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "or_equal": {"kinds": ["boolean", "null"]},
        "ignore_row_if": {
            "kinds": ["string"],
            "choices": ["both_values_are_missing", "either_value_is_missing", "neither"],
        },
    },
    "expect_column_pair_values_to_be_equal": {
        "column_A": {"kinds": ["string"], "required": True},
        "column_B": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "ignore_row_if": {
            "kinds": ["string"],
            "choices": ["both_values_are_missing", "either_value_is_missing", "neither"],
        },
    },
    "expect_column_pair_values_to_be_in_set": {
        "column_A": {"kinds": ["string"], "required": True},
        "column_B": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "value_pairs_set": {"kinds": ["list"], "required": True},
        "ignore_row_if": {
            "kinds": ["string"],
            "choices": ["both_values_are_missing", "either_value_is_missing", "neither"],
        },
    },
    "expect_column_proportion_of_non_null_values_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["null", "number"]},
        "max_value": {"kinds": ["null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_proportion_of_unique_values_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["null", "number"]},
        "max_value": {"kinds": ["null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_stdev_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["null", "number"]},
        "max_value": {"kinds": ["null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_sum_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_to_exist": {
        "column": {"kinds": ["string"], "required": True},
        "column_index": {"kinds": ["integer", "null"]},
    },
    "expect_column_type_to_be": {
        "column": {"kinds": ["string"], "required": True},
        "type_": {"kinds": ["string"], "required": True},
    },
    "expect_column_unique_value_count_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "min_value": {"kinds": ["integer", "null"]},
        "max_value": {"kinds": ["integer", "null"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_value_lengths_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "min_value": {"kinds": ["integer", "null"]},
        "max_value": {"kinds": ["integer", "null"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_value_lengths_to_equal": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "value": {"kinds": ["number"], "required": True},
    },
    "expect_column_value_z_scores_to_be_less_than": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "threshold": {"kinds": ["number"], "required": True},
        "double_sided": {"kinds": ["boolean"], "required": True},
    },
    "expect_column_values_to_be_between": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_column_values_to_be_dateutil_parseable": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
    },
    "expect_column_values_to_be_decreasing": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "strictly": {"kinds": ["boolean", "null"]},
    },
    "expect_column_values_to_be_in_set": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "value_set": {"kinds": ["list"], "required": True},
    },
    "expect_column_values_to_be_in_type_list": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "type_list": {"kinds": ["list", "null"]},
    },
    "expect_column_values_to_be_increasing": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "strictly": {"kinds": ["boolean", "null"]},
    },
    "expect_column_values_to_be_json_parseable": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
    },
    "expect_column_values_to_be_null": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
    },
    "expect_column_values_to_be_of_type": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "type_": {"kinds": ["string"], "required": True},
    },
    "expect_column_values_to_be_unique": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
    },
    "expect_column_values_to_match_like_pattern": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "like_pattern": {"kinds": ["string"], "required": True},
        "escape": {"kinds": ["null", "string"]},
    },
    "expect_column_values_to_match_like_pattern_list": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "like_pattern_list": {"kinds": ["list"], "required": True},
        "match_on": {"kinds": ["string"], "choices": ["any", "all"]},
        "escape": {"kinds": ["null", "string"]},
    },
    "expect_column_values_to_match_regex": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "regex": {"kinds": ["string"]},
    },
    "expect_column_values_to_match_regex_list": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "regex_list": {"kinds": ["list"], "required": True},
        "match_on": {"kinds": ["string"], "choices": ["any", "all"]},
    },
    "expect_column_values_to_match_strftime_format": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "strftime_format": {"kinds": ["string"], "required": True},
    },
    "expect_column_values_to_not_be_in_set": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "value_set": {"kinds": ["list"], "required": True},
    },
    "expect_column_values_to_not_be_null": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
    },
    "expect_column_values_to_not_be_outliers": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "method": {"kinds": ["string"], "choices": ["iqr", "std"]},
        "multiplier": {"ge": 0.0, "kinds": ["number"]},
    },
    "expect_column_values_to_not_match_like_pattern": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "like_pattern": {"kinds": ["string"], "required": True},
        "escape": {"kinds": ["null", "string"]},
    },
    "expect_column_values_to_not_match_like_pattern_list": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "like_pattern_list": {"kinds": ["list"], "required": True},
        "escape": {"kinds": ["null", "string"]},
    },
    "expect_column_values_to_not_match_regex": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "regex": {"kinds": ["string"], "required": True},
    },
    "expect_column_values_to_not_match_regex_list": {
        "column": {"kinds": ["string"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "regex_list": {"kinds": ["list"], "required": True},
    },
    "expect_compound_columns_to_be_unique": {
        "column_list": {"kinds": ["list"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "ignore_row_if": {
            "kinds": ["string"],
            "choices": ["all_values_are_missing", "any_value_is_missing", "never"],
        },
    },
    "expect_multicolumn_sum_to_equal": {
        "column_list": {"kinds": ["list"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "ignore_row_if": {
            "kinds": ["string"],
            "choices": ["all_values_are_missing", "any_value_is_missing", "never"],
        },
        "sum_total": {"kinds": ["number"], "required": True},
    },
    "expect_multicolumn_values_to_be_equal": {
        "column_list": {"kinds": ["list"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "ignore_row_if": {
            "kinds": ["string"],
            "choices": ["all_values_are_missing", "any_value_is_missing", "never"],
        },
    },
    "expect_select_column_values_to_be_unique_within_record": {
        "column_list": {"kinds": ["list"], "required": True},
        "mostly": {"ge": 0.0, "le": 1.0, "kinds": ["number"]},
        "ignore_row_if": {"kinds": ["string"]},
    },
    "expect_table_column_count_to_be_between": {
        "min_value": {"kinds": ["date", "null", "number"]},
        "max_value": {"kinds": ["date", "null", "number"]},
    },
    "expect_table_column_count_to_equal": {"value": {"kinds": ["integer"], "required": True}},
    "expect_table_columns_to_match_ordered_list": {"column_list": {"kinds": ["list", "null"]}},
    "expect_table_columns_to_match_set": {
        "column_set": {"kinds": ["list", "null"]},
        "exact_match": {"kinds": ["boolean", "null"]},
    },
    "expect_table_row_count_to_be_between": {
        "min_value": {"kinds": ["date", "integer", "null"]},
        "max_value": {"kinds": ["date", "integer", "null"]},
        "strict_min": {"kinds": ["boolean"]},
        "strict_max": {"kinds": ["boolean"]},
    },
    "expect_table_row_count_to_equal": {"value": {"kinds": ["integer"], "required": True}},
    "expect_table_row_count_to_equal_other_table": {
        "other_table_name": {"kinds": ["string"], "required": True}
    },
}

REFUSED: dict[str, str] = {
    "expect_column_quantile_values_to_be_between": "its argument 'quantile_ranges' is a mapping, which a policy cannot hold",
    "expect_column_values_to_match_json_schema": "its argument 'json_schema' is a mapping, which a policy cannot hold",
    "expect_query_results_to_match_comparison": "it runs its argument 'comparison_query' as a SQL query",
    "unexpected_rows_expectation": "it runs its argument 'unexpected_rows_query' as a SQL query",
}
