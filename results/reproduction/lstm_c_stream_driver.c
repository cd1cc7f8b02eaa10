/* Drives the functions of the JKU LSTM simulator (lstm.c, www.bioinf.jku.at/software/lstm,
   not part of this repository; included through lstm_c_common.h) on experiments 4 and 5 of Hochreiter & Schmidhuber (1997),
   the adding and the multiplication problem, on fresh sequences of lstm_zoo's generators.

   Build: gcc -O2 -std=gnu89 -w -I DIR_WITH_LSTM_C lstm_c_stream_driver.c -lm
   Run:   ./a.out TEST_FILE SEED BUDGET RATE MAX_WRONG MAX_MSE ZERO_START [DUMP [INIT]] < SEQUENCES

   lstm.c's functions do the work: initia (weights on its grid in [-0.1, 0.1], the input
   gate biases -3 and -6 added to the draw, the output gates' drawn: the adding net's, and
   for 5 the reading of section 5.5's "like in Section 5.4", where table 10 has "r"), reset_net,
   forward_pass, derivatives (the steps without a target), backward_pass (the sequence's last
   step: eq. 19's error, the truncated gradient, the state derivatives) and weight_update
   (one update per sequence). The net is table 10's for 4 and 5: 2 blocks of 2 cells, 2
   inputs, one output, every non-input unit biased (93 weights). In lstm.c's terms the
   output's bias is a constant hidden unit (its bias2 switch); that unit's weights to the
   gates and cells are held at 0, as the paper's net has none. ZERO_START=1 sets every
   activation to 0 after reset_net (the paper: "Net activations are reset after each
   processed input sequence"); 0 keeps lstm.c's 0.5.

   A sequence is correct when the absolute error at its end is below 0.04. The criterion is
   the paper's: of the last 2,000 training sequences at most MAX_WRONG wrong (4: 0; 5: 139)
   and, when MAX_MSE > 0, their mean squared error below MAX_MSE (4: 0.01).

   Sequences (stdin and TEST_FILE, binary, native byte order): int32 steps, then steps x 2
   float32 inputs, then one float32 target. Prints "solved SEQUENCES" or "unsolved BUDGET",
   then "test_wrong FRACTION test_mse MSE" on TEST_FILE's sequences; progress on stderr.
   With DUMP, writes to that file the weights after initialisation ("weights 0") and after 1,
   10, 100, 1000, ... training sequences ("weights N": W_mod, ges_mod rows of cell_mod
   values), for lstm_c_check.py; "-" writes none. With INIT, the weights drawn by initia are
   replaced by that file's matrix (the same layout), for instance a table trial's initial
   weights (lstm_c_stream.py --table). */
#include "lstm_c_common.h"

#define INPUTS 2
#define MAX_STEPS 2100
#define WINDOW 2000
#define THRESHOLD 0.04

static float seq_in[MAX_STEPS][INPUTS], seq_target;
static int seq_steps;
static void load_weights(const char *path) {
  int i, j;
  FILE *f = fopen(path, "r");
  if (!f) { fprintf(stderr, "cannot open INIT %s\n", path); exit(2); }
  for (i = 0; i < ges_mod; i++)
    for (j = 0; j < cell_mod; j++)
      if (fscanf(f, "%lf", &W_mod[i][j]) != 1) { fprintf(stderr, "INIT: too few weights\n"); exit(2); }
  fclose(f);
}

static int read_sequence(FILE *f) {
  if (fread(&seq_steps, sizeof(int), 1, f) != 1) return 0;
  if (seq_steps < 1 || seq_steps > MAX_STEPS) { fprintf(stderr, "bad sequence length %d\n", seq_steps); exit(2); }
  if (fread(seq_in, sizeof(float), (size_t)seq_steps * INPUTS, f) != (size_t)seq_steps * INPUTS) return 0;
  if (fread(&seq_target, sizeof(float), 1, f) != 1) return 0;
  return 1;
}

static void set_step(int t) {
  int i;
  for (i = 0; i < INPUTS; i++) Yk_mod_new[i] = Yk_mod_old[i] = seq_in[t][i];
  Yk_mod_new[in_mod - 1] = Yk_mod_old[in_mod - 1] = 1.0; /* lstm.c's bias unit */
  target_a[0] = seq_target;
  targ = (t == seq_steps - 1);
}

/* The constant hidden unit (lstm.c's output bias) feeds the gates and cells too; the
   paper's net has no such weights. */
static void clamp_hidden_bias(void) {
  int i;
  for (i = hi_in_mod; i < cell_mod; i++) {
    W_mod[i][hi_in_mod - 1] = 0.0;
    DW[i][hi_in_mod - 1] = 0.0;
  }
}

/* Runs the current sequence; with `learn`, accumulates and applies lstm.c's update.
   Returns the signed error at the end. */
static double run_sequence(int learn) {
  int t;
  start_sequence();
  for (t = 0; t < seq_steps; t++) {
    set_step(t);
    forward_pass();
    if (targ) {
      error[0] = target_a[0] - Yk_mod_new[cell_mod];
      if (learn) backward_pass();
    } else if (learn) {
      derivatives();
    }
    keep_activations();
  }
  if (learn) {
    clamp_hidden_bias();
    weight_update();
  }
  return error[0];
}

int main(int argc, char **argv) {
  static char wrong_at[WINDOW];
  static double squared_at[WINDOW];
  FILE *test;
  long budget, seen, solved = 0, n;
  int max_wrong, wrong = 0, u;
  double max_mse, squared = 0.0, test_squared = 0.0;
  long test_wrong = 0, test_count = 0;
  if (argc < 8 || argc > 10) {
    fprintf(stderr, "usage: %s TEST_FILE SEED BUDGET RATE MAX_WRONG MAX_MSE ZERO_START [DUMP [INIT]] < SEQUENCES\n", argv[0]);
    return 2;
  }
  ran_sta = atoi(argv[2]);
  budget = atol(argv[3]);
  alpha = atof(argv[4]);
  max_wrong = atoi(argv[5]);
  max_mse = atof(argv[6]);
  zero_start = atoi(argv[7]);
  if (argc >= 9 && strcmp(argv[8], "-") != 0 && !(dump = fopen(argv[8], "w"))) { fprintf(stderr, "cannot open DUMP %s\n", argv[8]); return 2; }

  in_mod = INPUTS + 1; /* main() of lstm.c adds the bias unit */
  out_mod = 1;
  hid_mod = 1;         /* ... and, with bias2, the constant unit that biases the outputs */
  bias1 = 1;
  bias2 = 1;
  num_blocks = 2;
  for (u = 0; u < num_blocks; u++) {
    block_size[u] = 2;
    bias_inp[u] = u == 0 ? -3.0 : -6.0;
    bias_out[u] = 0.0;
  }
  init_range = 0.1;
  hi_in_mod = in_mod + hid_mod;
  cell_mod = hi_in_mod;
  for (u = 0; u < num_blocks; u++) cell_mod += 2 + block_size[u];
  ges_mod = cell_mod + out_mod;

  srandom(ran_sta);
  initia();
  if (argc == 10) load_weights(argv[9]);
  clamp_hidden_bias();
  dump_weights(0);
  for (seen = 0; seen < budget; seen++) {
    double e;
    int slot = seen % WINDOW;
    if (!read_sequence(stdin)) { fprintf(stderr, "the sequences ended after %ld\n", seen); return 2; }
    e = run_sequence(1);
    dump_weights(seen + 1);
    if (seen >= WINDOW) { wrong -= wrong_at[slot]; squared -= squared_at[slot]; }
    wrong_at[slot] = fabs(e) >= THRESHOLD;
    squared_at[slot] = e * e;
    wrong += wrong_at[slot];
    squared += squared_at[slot];
    if ((seen + 1) % 50000 == 0) fprintf(stderr, "%ld wrong %d mse %.5f\n", seen + 1, wrong, squared / WINDOW);
    if (seen + 1 >= WINDOW && wrong <= max_wrong && (max_mse <= 0 || squared / WINDOW < max_mse)) {
      solved = seen + 1;
      break;
    }
  }
  if (dump) fclose(dump);
  if (solved) printf("solved %ld\n", solved); else printf("unsolved %ld\n", budget);
  test = fopen(argv[1], "rb");
  if (!test) { fprintf(stderr, "cannot open TEST_FILE %s\n", argv[1]); return 2; }
  for (n = 0; read_sequence(test); n++) {
    double e = run_sequence(0);
    test_wrong += fabs(e) >= THRESHOLD;
    test_squared += e * e;
    test_count++;
  }
  fclose(test);
  printf("test_wrong %.6f test_mse %.6f\n", (double)test_wrong / test_count, test_squared / test_count);
  return 0;
}
