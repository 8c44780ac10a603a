#!/bin/bash
# qemu_nomodel.sh - a volume without any model: the app must say what to copy
# where, and stay usable (Enter looks again instead of hanging or crashing).
. "$(dirname "$0")/qemu_lib.sh"

qemu_image "$QT/a.img" MODEL= TOKENIZER= || { fail nomodel_image "mkimage failed"; finish; }
qemu_start "$QT/a.img"
if wait_for "No model found. Copy a llama2.c model and its tokenizer" 120; then
    pass nomodel_message
else
    fail nomodel_message "no hint about where to put a model"
fi
send_line ""
wait_for "No model found." 30 && pass nomodel_stays_usable ||
    fail nomodel_stays_usable "Enter did not rescan the volume"
qemu_stop
finish
