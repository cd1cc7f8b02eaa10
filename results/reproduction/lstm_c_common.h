/* What the two drivers beside this file (lstm_c_driver.c, lstm_c_stream_driver.c) share: the
   functions of the JKU LSTM simulator (lstm.c, www.bioinf.jku.at/software/lstm, not part of
   this repository) with its main() renamed, the start of a sequence, the copy of the step's
   activations, and the dump of the weights that lstm_c_check.py reads. */
#define main lstm_c_main
#include "lstm.c"
#undef main
#include <stdlib.h>
#include <string.h>

/* 1: every activation at 0 before a sequence (the paper); 0: lstm.c's 0.5. */
static int zero_start;
/* The DUMP file, or NULL. */
static FILE *dump;

/* lstm.c's reset_net, then, with zero_start, zero activations. */
static void start_sequence(void) {
  int i, u, v;
  reset_net();
  if (zero_start) {
    for (i = 0; i < ges_mod; i++) Yk_mod_new[i] = Yk_mod_old[i] = 0.0;
    for (u = 0; u < num_blocks; u++) for (v = 0; v < block_size[u]; v++) Yc[u][v] = 0.0;
  }
}

/* What lstm.c's main does after each step: the step's activations become the old ones. */
static void keep_activations(void) {
  int i;
  for (i = 0; i < ges_mod; i++) Yk_mod_old[i] = Yk_mod_new[i];
}

/* With a DUMP file, writes "weights SEEN" and the matrix W_mod (ges_mod rows of cell_mod
   values) when SEEN is 0, 1, 10, 100, ... training sequences. */
static void dump_weights(long seen) {
  long decade = 1;
  int i, j;
  if (!dump) return;
  while (decade < seen) decade *= 10;
  if (seen != 0 && seen != decade) return;
  fprintf(dump, "weights %ld\n", seen);
  for (i = 0; i < ges_mod; i++) {
    for (j = 0; j < cell_mod; j++) fprintf(dump, "%.17g ", W_mod[i][j]);
    fprintf(dump, "\n");
  }
}
