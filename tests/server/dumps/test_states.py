import pytest

from opsplane.server.dumps.states import FileState, IllegalTransition, can_move, check_move

F = FileState


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (F.created, F.uploading),
        (F.uploading, F.uploaded),
        (F.uploaded, F.analyzing),
        (F.analyzing, F.analyzed),
        (F.uploading, F.failed),
        (F.analyzing, F.failed),
        (F.failed, F.uploading),
        (F.failed, F.analyzing),
        (F.analyzed, F.analyzing),
    ],
)
def test_allowed_moves(old: FileState, new: FileState) -> None:
    assert can_move(old, new)
    check_move(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (F.created, F.analyzed),
        (F.uploading, F.analyzing),
        (F.analyzed, F.uploading),
        (F.analyzed, F.failed),
        (F.uploaded, F.created),
    ],
)
def test_illegal_moves_are_409(old: FileState, new: FileState) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_move(old, new)
    assert info.value.status == 409
    assert info.value.details["from"] == old.value
