#!/usr/bin/env python3
"""Writes the seed corpora of the kb extraction fuzz targets (tests/fuzz/corpus/kb_<format>/): a few tiny files
per format, the same shapes the unit tests build (tests/unit/kb/extract_test_util.hpp). Run from anywhere:
    python3 tests/fuzz/make_kb_seeds.py
"""
import os
import zipfile
import io

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def pdf(pages, title="", encrypted=False, image_only=False):
    objects = []

    def add(body):
        objects.append(body)
        return len(objects)

    def stream(data, extra=""):
        return "<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), extra, data)

    catalog = add("<< /Type /Catalog /Pages 2 0 R >>")
    pages_obj = add("")
    font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    image = add(stream("\x80", " /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
                               "/BitsPerComponent 8"))
    kids = []
    for paragraphs in pages:
        if image_only:
            content = "q 100 0 0 100 72 600 cm /Im1 Do Q"
        else:
            parts = ["BT /F1 12 Tf 72 720 Td"]
            for i, lines in enumerate(paragraphs):
                if i:
                    parts.append("0 -40 Td")
                for j, line in enumerate(lines):
                    if j:
                        parts.append("0 -14 Td")
                    parts.append("(%s) Tj" % line)
            parts.append("ET")
            content = " ".join(parts)
        contents = add(stream(content))
        kids.append(add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> "
                        "/XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>" % (font, image, contents)))
    objects[pages_obj - 1] = "<< /Type /Pages /Kids [%s] /Count %d >>" % (
        " ".join("%d 0 R" % k for k in kids), len(kids))
    info = add("<< /Title (%s) >>" % title)
    encrypt = add("<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -44 >>" % ("A" * 64, "A" * 64)) if encrypted else 0
    out = "%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out.encode("latin-1")))
        out += "%d 0 obj\n%s\nendobj\n" % (i + 1, body)
    xref = len(out.encode("latin-1"))
    out += "xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += "".join("%010d 00000 n \n" % o for o in offsets)
    out += "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R" % (len(objects) + 1, catalog, info)
    if encrypt:
        out += " /Encrypt %d 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>]" % encrypt
    out += " >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return out.encode("latin-1")


def docx(body, styles=None, title=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        class Fixed:  # entries with a fixed date, so the seeds are the same bytes on every run
            @staticmethod
            def writestr(name, data):
                archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        z = Fixed
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                   'wordprocessingml/2006/main"><w:body>' + body + "</w:body></w:document>")
        if styles:
            z.writestr("word/styles.xml", styles)
        if title:
            z.writestr("docProps/core.xml", '<cp:coreProperties xmlns:cp="c" xmlns:dc="d"><dc:title>%s</dc:title>'
                       "</cp:coreProperties>" % title)
    return buf.getvalue()


def p(text, style=""):
    ppr = '<w:pPr><w:pStyle w:val="%s"/></w:pPr>' % style if style else ""
    return '<w:p>%s<w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>' % (ppr, text)


write("kb_pdf", "two_pages", pdf([[["First line", "second line"], ["Next paragraph"]], [["Page two"]]], "Title"))
write("kb_pdf", "encrypted", pdf([[["secret"]]], encrypted=True))
write("kb_pdf", "image_only", pdf([[["x"]]], image_only=True))

write("kb_docx", "structure", docx(
    p("Title", "Title") + p("Heading", "Heading1") + p("Body text") +
    '<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>item</w:t></w:r></w:p>'
    "<w:tbl><w:tr><w:tc>" + p("a") + "</w:tc><w:tc>" + p("b") + "</w:tc></w:tr></w:tbl>", title="Core"))
write("kb_docx", "styles", docx(p("Kapitel", "berschrift1") + p("x"),
                                styles='<w:styles xmlns:w="w"><w:style w:type="paragraph" w:styleId="berschrift1">'
                                '<w:name w:val="heading 1"/></w:style></w:styles>'))

write("kb_html", "page.html", "<!DOCTYPE html><html><head><title>T</title><style>p{}</style></head><body><nav>n</nav>"
      "<main><h1>H</h1><p>Text &amp; <b>bold</b><br>line</p><ul><li>a<ul><li>b</li></ul></li></ul>"
      "<pre>code\n  x</pre><table><tr><td>1</td><td>2</td></tr></table></main></body></html>")
write("kb_html", "latin1.html", b"<meta charset=iso-8859-1><article><p>caf\xe9</p></article>")
write("kb_html", "unclosed.html", "<p>one<p>two<li>three<div><span>four")

write("kb_markdown", "guide.md", "---\ntitle: T\n---\n# Guide\n\nText *em* [link](u) &amp;\n\n- a\n  - b\n\n"
      "```\ncode\n```\n\n| A | B |\n|---|---|\n| 1 | 2 |\n\n> quote\n\nSetext\n---\n")
write("kb_markdown", "html.md", "<div>raw</div>\n\n1. one\n2. two\n\n    indented code\n")

write("kb_text", "plain.txt", "First line\nsecond\n\nNext paragraph\r\n")
write("kb_text", "utf16le.txt", b"\xff\xfe" + "Gr\u00fc\u00dfe\n\nzwei".encode("utf-16-le"))
write("kb_text", "latin1.txt", b"caf\xe9 cr\xe8me")
