/* Drives the functions of the JKU LSTM simulator (lstm.c, www.bioinf.jku.at/software/lstm,
   not part of this repository; included through lstm_c_common.h) on experiment 1 of Hochreiter & Schmidhuber (1997), the
   embedded Reber grammar, with the data and the success test of lstm_zoo's table.

   Build: gcc -O2 -std=gnu89 -w -I DIR_WITH_LSTM_C lstm_c_driver.c -lm
   Run:   ./a.out DATA SEED BUDGET RATE BIASED_CELLS ZERO_START CHECK_EVERY [DUMP]

   lstm.c's own functions do the work: initia (weights drawn on its grid, gate biases added
   to the draw), reset_net, forward_pass, backward_pass (eq. 19's error, the truncated
   gradient, the state derivatives of eqs. 25 and 27) and weight_update (one update per
   string). Its main() reads files and walks a training set in order; ours replaces it:
   - the net is the paper's 3 blocks of 2 cells, 7 inputs, 7 outputs fed by the cells only,
     gates and cells fed by the inputs, a bias unit and every gate and cell; the output gate
     biases -1, -2, -3 (added to the draw, as initia does);
   - BIASED_CELLS=0 holds the bias unit's weights to the six cell inputs at 0 (the paper's
     276 weights: "the gate units are biased"); 1 leaves them to learn (lstm.c's bias switch,
     282 weights);
   - ZERO_START=1 sets every activation to 0 after reset_net (the paper: "all activations are
     reinitialized with zeros"); 0 keeps lstm.c's 0.5;
   - training strings are drawn at random from the 256 (the paper: "training exemplars are
     picked randomly from the training set"), with lstm.c's random();
   - every CHECK_EVERY strings, every string of the training and the test set is run with
     frozen weights; the trial is solved when at every step the outputs of the legal next
     symbols are the most active ones (lstm_zoo.datasets.reber.legal_predictions).
   DATA: a line "N" then N lines "T s_0 t_0 l_0 ... s_(T-1) t_(T-1) l_(T-1)" (input symbol,
   target symbol, bit mask of the legal next symbols) for the training set, then the same
   for the test set. Prints "solved SEQUENCES" or "unsolved FRACTION_CORRECT", with progress
   lines "seen FRACTION" on stderr. With DUMP, writes to that file the weights after
   initialisation ("weights 0") and after 1, 10, 100, 1000, ... training strings
   ("weights N": the matrix W_mod, ges_mod rows of cell_mod values) and, before each string,
   its index in the training set ("string I"), so that another implementation can be run
   from the same start on the same strings (lstm_c_check.py). */
#include "lstm_c_common.h"

#define MAX_STEPS 400
#define MAX_STRINGS 512
#define SYMBOLS 7

typedef struct {
  int steps;
  int input[MAX_STEPS], target[MAX_STEPS], legal[MAX_STEPS];
} string_t;

static string_t train_set[MAX_STRINGS], test_set[MAX_STRINGS];
static int train_count, test_count, biased_cells;
static int read_set(FILE *f, string_t *set) {
  int n, i, t;
  if (fscanf(f, "%d", &n) != 1 || n > MAX_STRINGS) { fprintf(stderr, "bad set size\n"); exit(2); }
  for (i = 0; i < n; i++) {
    if (fscanf(f, "%d", &set[i].steps) != 1 || set[i].steps > MAX_STEPS) { fprintf(stderr, "bad string\n"); exit(2); }
    for (t = 0; t < set[i].steps; t++)
      if (fscanf(f, "%d %d %d", &set[i].input[t], &set[i].target[t], &set[i].legal[t]) != 3) { fprintf(stderr, "bad step\n"); exit(2); }
  }
  return n;
}

/* The unit index of cell v of block u (lstm.c's layout: per block input gate, output gate,
   then the cells). */
static int cell_unit(int u, int v) {
  int i = hi_in_mod, b;
  for (b = 0; b < u; b++) i += 2 + block_size[b];
  return i + 2 + v;
}

static void set_step(const string_t *s, int t) {
  int i;
  for (i = 0; i < in_mod - 1; i++) Yk_mod_new[i] = Yk_mod_old[i] = (i == s->input[t]) ? 1.0 : 0.0;
  Yk_mod_new[in_mod - 1] = Yk_mod_old[in_mod - 1] = 1.0; /* lstm.c's bias unit */
  for (i = 0; i < out_mod; i++) target_a[i] = (i == s->target[t]) ? 1.0 : 0.0;
  targ = 1;
}

static void clamp_cell_biases(void) {
  int u, v;
  if (biased_cells) return;
  for (u = 0; u < num_blocks; u++)
    for (v = 0; v < block_size[u]; v++) {
      W_mod[cell_unit(u, v)][in_mod - 1] = 0.0;
      DW[cell_unit(u, v)][in_mod - 1] = 0.0;
    }
}

static void train_string(const string_t *s) {
  int t, k, j;
  start_sequence();
  for (t = 0; t < s->steps; t++) {
    set_step(s, t);
    forward_pass();
    for (k = cell_mod, j = 0; k < ges_mod; k++, j++) error[j] = target_a[j] - Yk_mod_new[k];
    backward_pass();
    keep_activations();
  }
  clamp_cell_biases();
  weight_update();
}

static int string_correct(const string_t *s) {
  int t, k, ok = 1;
  start_sequence();
  for (t = 0; t < s->steps; t++) {
    double lowest_legal = 1e9, highest_illegal = -1e9;
    set_step(s, t);
    forward_pass();
    for (k = 0; k < out_mod; k++) {
      double y = Yk_mod_new[cell_mod + k];
      if (s->legal[t] & (1 << k)) { if (y < lowest_legal) lowest_legal = y; }
      else if (y > highest_illegal) highest_illegal = y;
    }
    if (!(lowest_legal > highest_illegal)) ok = 0;
    keep_activations();
  }
  return ok;
}

static double fraction_correct(void) {
  int i, correct = 0;
  for (i = 0; i < train_count; i++) correct += string_correct(&train_set[i]);
  for (i = 0; i < test_count; i++) correct += string_correct(&test_set[i]);
  return (double)correct / (train_count + test_count);
}

int main(int argc, char **argv) {
  FILE *f;
  long budget, seen;
  int check_every, u;
  double fraction = 0.0;
  if (argc != 8 && argc != 9) {
    fprintf(stderr, "usage: %s DATA SEED BUDGET RATE BIASED_CELLS ZERO_START CHECK_EVERY [DUMP]\n", argv[0]);
    return 2;
  }
  f = fopen(argv[1], "r");
  if (!f) { fprintf(stderr, "cannot open DATA %s\n", argv[1]); return 2; }
  train_count = read_set(f, train_set);
  test_count = read_set(f, test_set);
  fclose(f);
  ran_sta = atoi(argv[2]);
  budget = atol(argv[3]);
  alpha = atof(argv[4]);
  biased_cells = atoi(argv[5]);
  zero_start = atoi(argv[6]);
  check_every = atoi(argv[7]);
  if (argc == 9 && !(dump = fopen(argv[8], "w"))) { fprintf(stderr, "cannot open DUMP %s\n", argv[8]); return 2; }

  /* The paper's net for experiment 1, in lstm.c's terms (its main() adds the bias unit). */
  in_mod = SYMBOLS + 1;
  out_mod = SYMBOLS;
  hid_mod = 0;
  bias1 = 1;
  bias2 = 0;
  num_blocks = 3;
  for (u = 0; u < num_blocks; u++) {
    block_size[u] = 2;
    bias_inp[u] = 0.0;
    bias_out[u] = -(u + 1.0);
  }
  init_range = 0.2;
  hi_in_mod = in_mod + hid_mod;
  cell_mod = hi_in_mod;
  for (u = 0; u < num_blocks; u++) cell_mod += 2 + block_size[u];
  ges_mod = cell_mod + out_mod;

  srandom(ran_sta);
  initia();
  clamp_cell_biases();
  dump_weights(0);
  for (seen = 1; seen <= budget; seen++) {
    int pick = random() % train_count;
    if (dump) fprintf(dump, "string %d\n", pick);
    train_string(&train_set[pick]);
    dump_weights(seen);
    if (seen % check_every == 0) {
      fraction = fraction_correct();
      if (seen % (check_every * 40) == 0) fprintf(stderr, "%ld %.4f\n", seen, fraction);
      if (fraction == 1.0) {
        printf("solved %ld\n", seen);
        return 0;
      }
    }
  }
  printf("unsolved %.4f\n", fraction);
  return 0;
}
