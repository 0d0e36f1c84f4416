"""PDF metrics on PDFs written here (text pages by hand, image pages by Pillow)."""

import pytest
from PIL import Image, ImageDraw

from kimicua.tasks.metrics.pdf import check_pdf_pages, compare_pdf_images, compare_pdfs, phash


def _text_pdf(path, pages):
    """A minimal PDF: one page per string, the text in Helvetica."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {len(objects)} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return str(path)


def _image(kind):
    image = Image.new("RGB", (64, 64), "white")
    draw = ImageDraw.Draw(image)
    if kind == "box":
        draw.rectangle([8, 8, 40, 40], fill="black")
    elif kind == "stripes":
        for x in range(0, 64, 8):
            draw.rectangle([x, 0, x + 3, 63], fill="black")
    return image


def _image_pdf(path, kinds):
    images = [_image(k) for k in kinds]
    images[0].save(path, "PDF", save_all=True, append_images=images[1:])
    return str(path)


def test_compare_pdfs_text_similarity(tmp_path):
    gold = _text_pdf(tmp_path / "gold.pdf", ["Hello world", "Second page"])
    assert compare_pdfs(_text_pdf(tmp_path / "same.pdf", ["Hello world", "Second page"]), gold) == 1.0
    typo = compare_pdfs(_text_pdf(tmp_path / "typo.pdf", ["Hello world", "Second pag"]), gold)
    assert 0.9 < typo < 1.0
    assert compare_pdfs(_text_pdf(tmp_path / "other.pdf", ["Zzzz"]), gold) < 0.2


def test_compare_pdfs_lists_average_and_unreadable_pairs_count_zero(tmp_path):
    a = _text_pdf(tmp_path / "a.pdf", ["Alpha"])
    b = _text_pdf(tmp_path / "b.pdf", ["Beta"])
    assert compare_pdfs([a, b], [a, b]) == 1.0
    assert compare_pdfs([a, str(tmp_path / "missing.pdf")], [a, b]) == 0.5
    assert compare_pdfs(None, b) == 0.0


def test_check_pdf_pages(tmp_path):
    two = _text_pdf(tmp_path / "two.pdf", ["a", "b"])
    assert check_pdf_pages(two, {"relation": "eq", "ref_value": 2}) == 1.0
    assert check_pdf_pages(two, {"relation": "eq", "ref_value": 1}) == 0.0
    assert check_pdf_pages(two, {"relation": "lt", "ref_value": 3}) == 1.0
    assert check_pdf_pages(None, {"relation": "eq", "ref_value": 1}) == 0.0
    with pytest.raises(ValueError, match="unknown relation"):
        check_pdf_pages(two, {"relation": "about", "ref_value": 2})


def test_phash_tells_pictures_apart():
    assert int((phash(_image("box")) != phash(_image("box"))).sum()) == 0
    assert int((phash(_image("box")) != phash(_image("stripes"))).sum()) > 5


def test_compare_pdf_images(tmp_path):
    gold = _image_pdf(tmp_path / "gold.pdf", ["box", "stripes"])
    assert compare_pdf_images(_image_pdf(tmp_path / "same.pdf", ["box", "stripes"]), gold) == 1.0
    assert compare_pdf_images(_image_pdf(tmp_path / "half.pdf", ["box", "box"]), gold) == 0.5
    assert compare_pdf_images(_image_pdf(tmp_path / "one.pdf", ["box"]), gold) == 0.0
    text = _text_pdf(tmp_path / "text.pdf", ["no pictures"])
    assert compare_pdf_images(text, text) == 1.0
    assert compare_pdf_images(str(tmp_path / "missing.pdf"), gold) == 0.0
    assert compare_pdf_images(None, gold) == 0.0
