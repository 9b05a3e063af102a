"""The prompt library on a real SQLite store: save, list, match, delete, export and import."""

from __future__ import annotations

from pathlib import Path

from app.core.prompts import AssistantSetup, PromptLibrary, matching
from app.store import Store


async def test_saved_prompts_and_assistants_round_trip_through_an_export(tmp_path: Path) -> None:
    source = await Store.open(tmp_path / "a", daily_backup=False)
    target = await Store.open(tmp_path / "b", daily_backup=False)
    try:
        library = PromptLibrary(source)
        await library.save_prompt("Summarise", "Summarise this in three bullet points:")
        tutor = await library.save_assistant(
            "Python tutor",
            AssistantSetup("You teach Python patiently.", {"temperature": 0.2}, "local", "m1"),
        )
        assert [p.name for p in library.items] == ["Python tutor", "Summarise"]  # assistants first
        assert tutor.is_assistant and tutor.params == {"temperature": 0.2}
        assert PromptLibrary.setup(tutor) == AssistantSetup(
            "You teach Python patiently.", {"temperature": 0.2}, "local", "m1"
        )
        archive = await source.export_json(tmp_path / "export.zip")
        report = await target.import_file(archive)
        assert report.prompts == 2
        imported = await PromptLibrary(target).load()
        assert [(p.kind, p.name, p.body, p.model) for p in imported] == [
            ("assistant", "Python tutor", "You teach Python patiently.", "m1"),
            ("prompt", "Summarise", "Summarise this in three bullet points:", None),
        ]
        again = await target.import_file(archive)
        assert again.prompts == 0  # the same prompts are not added twice
    finally:
        await source.close()
        await target.close()


async def test_edit_and_delete(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, daily_backup=False)
    try:
        library = PromptLibrary(store)
        saved = await library.save_prompt("Fix", "Fix the grammar:")
        await library.save_prompt("Fix grammar", "Fix the grammar, keep the tone:", saved.id)
        assert [(p.name, p.body) for p in library.items] == [
            ("Fix grammar", "Fix the grammar, keep the tone:")
        ]
        await library.delete(saved.id)
        assert library.items == [] and await PromptLibrary(store).load() == []
    finally:
        await store.close()


async def test_matching_prefers_names_then_text(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, daily_backup=False)
    try:
        library = PromptLibrary(store)
        await library.save_prompt("Translate to French", "Translate:")
        await library.save_prompt("Explain code", "Explain this, then translate the comments")
        await library.save_prompt("Tr", "x")
        names = [p.name for p in matching(library.items, "tr")]
        assert names[:2] == ["Tr", "Translate to French"] and names[-1] == "Explain code"
        assert matching(library.items, "") == library.items
        assert matching(library.items, "nothing like it") == []
    finally:
        await store.close()
