from tests.server.dumps.conftest import Api


async def test_upload_then_builtin_analysis_reaches_analyzed(api: Api) -> None:
    file_id = await api.upload(b"LEAK com.example.Cache\n" + b"x" * 200_000)
    detail = await api.wait_status(file_id, "analyzed", "failed")
    assert detail["status"] == "analyzed", detail
    steps = [(p["step"], p["status"]) for p in detail["processing"]]
    assert steps == [
        ("upload", "success"),
        ("analysis", "success"),
        ("ai_analysis", "success"),
        ("report", "success"),
    ]
    assert detail["report"]["leak_suspects"][0]["class"] == "com.example.Cache"
    link = await api.call("GET", f"/reports/{file_id}")
    page = await api.client.get(link["url"].replace("http://testserver", ""))
    assert page.status_code == 200
    assert "com.example.Cache" in page.text
