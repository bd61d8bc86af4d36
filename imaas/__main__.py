from imaas.cli import app

app(prog_name="imaas")
