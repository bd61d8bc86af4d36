"""`python -m imaas.docs`: write every generated file and section."""

from imaas.docs import OUTPUTS

for output in OUTPUTS:
    output.write()
