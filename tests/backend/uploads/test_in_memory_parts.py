"""A multipart file part stays in memory: Werkzeug's default spools a part over 500 KB to the system's
temp directory, a plain copy on disk before the upload is encrypted (backend/uploads/at_rest.py)."""

from io import BytesIO

from flask import request


def test_a_large_file_part_is_not_spooled_to_a_temporary_file(app):
    big = b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024)
    body = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + big + b"\r\n--b0undary--\r\n"
    )
    with app.test_request_context(
        "/api/v1/uploads",
        method="POST",
        input_stream=BytesIO(body),
        content_type="multipart/form-data; boundary=b0undary",
        content_length=len(body),
    ):
        stream = request.files["file"].stream
        assert type(stream) is BytesIO, type(stream)
        assert stream.getvalue() == big
