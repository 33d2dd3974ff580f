"""Every text column of a matchable model is either matched or left out on purpose."""

from sqlalchemy import JSON, String, inspect

from app.services.match_sync import MATCHED


def test_every_text_column_of_a_matchable_model_is_matched_or_left_out() -> None:
    for model, declared in MATCHED.items():
        text_columns = {
            attribute.key
            for attribute in inspect(model).column_attrs
            if isinstance(attribute.columns[0].type, String | JSON)  # Text and enums are Strings
        }
        undeclared = text_columns - set(declared.matched) - declared.left_out
        assert not undeclared, (
            f"{model.__name__}: add {sorted(undeclared)} to MATCHED in "
            "app/services/match_sync/__init__.py, as matched or left out"
        )
        assert not set(declared.matched) & declared.left_out, model
        assert set(declared.matched) | declared.left_out <= text_columns, model
