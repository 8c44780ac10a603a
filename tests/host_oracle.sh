#!/bin/bash
# host_oracle.sh - llama.cpp (node-llama-cpp 3.21.1) as the parity oracle:
# checks that it reproduces the llama2.c reference ids before other tests
# trust it for GGUF comparisons.
exec bash "$(dirname "$0")/oracle/check_reference.sh"
