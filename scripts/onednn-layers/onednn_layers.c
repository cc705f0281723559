// Times the convolution layers of SwiftGAN's presets (forward, backward-data, backward-weights;
// f32, or bf16 inputs with f32 outputs) directly on oneDNN, with the layouts left to the library
// (format_tag_any), as SwiftGAN's engine plans them. Compiles against oneDNN 2.x and 3.x (the two C
// APIs differ in how primitive descriptors are made); scripts/onednn-layers/compare runs the two
// builds alternately, so that the per-layer figures decide whether a newer oneDNN is worth a port.
//
//   onednn_layers [f32|bf16|bf16out] [rounds]   →  one line per layer and pass: name, pass, median ms,
//   GF/s, kernel (bf16: bf16 inputs, f32 outputs; bf16out: the forward's output and the
//   backward-data's input gradient in bf16 too, as SwiftGAN's bf16 training plans them)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "oneapi/dnnl/dnnl.h"

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { fprintf(stderr, "%s: status %d (line %d)\n", #x, s_, __LINE__); exit(1); } } while (0)

typedef struct { const char *name; int n, ic, oc, h, w, k, s, pt, pl, pb, pr, transposed; } layer_t;

// batch as in the benchmark's workloads: dcgan28 128, dcgan64 64, catdcgan 16.
static const layer_t layers[] = {
    {"dcgan28 G deconv 256→128 7→7", 128, 256, 128, 7, 7, 5, 1, 2, 2, 2, 2, 1},
    {"dcgan28 G deconv 128→64 7→14", 128, 128, 64, 7, 7, 5, 2, 1, 1, 2, 2, 1},
    {"dcgan28 G deconv 64→1 14→28", 128, 64, 1, 14, 14, 5, 2, 1, 1, 2, 2, 1},
    {"dcgan28 D conv 1→64 28→14", 128, 1, 64, 28, 28, 5, 2, 1, 1, 2, 2, 0},
    {"dcgan28 D conv 64→128 14→7", 128, 64, 128, 14, 14, 5, 2, 1, 1, 2, 2, 0},
    {"dcgan28 D conv 128→256 7→4", 128, 128, 256, 7, 7, 5, 2, 1, 1, 2, 2, 0},
    {"dcgan64 G deconv 100→512 1→4", 64, 100, 512, 1, 1, 4, 1, 0, 0, 0, 0, 1},
    {"dcgan64 G deconv 512→256 4→8", 64, 512, 256, 4, 4, 4, 2, 1, 1, 1, 1, 1},
    {"dcgan64 G deconv 256→128 8→16", 64, 256, 128, 8, 8, 4, 2, 1, 1, 1, 1, 1},
    {"dcgan64 G deconv 128→64 16→32", 64, 128, 64, 16, 16, 4, 2, 1, 1, 1, 1, 1},
    {"dcgan64 G deconv 64→3 32→64", 64, 64, 3, 32, 32, 4, 2, 1, 1, 1, 1, 1},
    {"dcgan64 D conv 3→64 64→32", 64, 3, 64, 64, 64, 4, 2, 1, 1, 1, 1, 0},
    {"dcgan64 D conv 64→128 32→16", 64, 64, 128, 32, 32, 4, 2, 1, 1, 1, 1, 0},
    {"dcgan64 D conv 128→256 16→8", 64, 128, 256, 16, 16, 4, 2, 1, 1, 1, 1, 0},
    {"dcgan64 D conv 256→512 8→4", 64, 256, 512, 8, 8, 4, 2, 1, 1, 1, 1, 0},
    {"dcgan64 D conv 512→1 4→1", 64, 512, 1, 4, 4, 4, 1, 0, 0, 0, 0, 0},
    {"catdcgan G deconv 1024→512 8→16", 16, 1024, 512, 8, 8, 5, 2, 1, 1, 2, 2, 1},
    {"catdcgan G deconv 512→256 16→32", 16, 512, 256, 16, 16, 5, 2, 1, 1, 2, 2, 1},
    {"catdcgan G deconv 256→128 32→64", 16, 256, 128, 32, 32, 5, 2, 1, 1, 2, 2, 1},
    {"catdcgan G deconv 128→64 64→128", 16, 128, 64, 64, 64, 5, 2, 1, 1, 2, 2, 1},
    {"catdcgan G deconv 64→3 128→128", 16, 64, 3, 128, 128, 5, 1, 2, 2, 2, 2, 1},
    {"catdcgan D conv 3→64 128→64", 16, 3, 64, 128, 128, 5, 2, 1, 1, 2, 2, 0},
    {"catdcgan D conv 64→128 64→32", 16, 64, 128, 64, 64, 5, 2, 1, 1, 2, 2, 0},
    {"catdcgan D conv 128→256 32→16", 16, 128, 256, 32, 32, 5, 2, 1, 1, 2, 2, 0},
    {"catdcgan D conv 256→512 16→16", 16, 256, 512, 16, 16, 5, 1, 2, 2, 2, 2, 0},
    {"catdcgan D conv 512→1024 16→8", 16, 512, 1024, 16, 16, 5, 2, 1, 1, 2, 2, 0},
};

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

#if DNNL_VERSION_MAJOR >= 3
typedef const_dnnl_memory_desc_t md_t;
static md_t make_md(int nd, const dnnl_dims_t dims, dnnl_data_type_t dt) {
    dnnl_memory_desc_t md; CHECK(dnnl_memory_desc_create_with_tag(&md, nd, dims, dt, dnnl_format_tag_any)); return md;
}
#else
typedef const dnnl_memory_desc_t *md_t;
static md_t make_md(int nd, const dnnl_dims_t dims, dnnl_data_type_t dt) {
    dnnl_memory_desc_t *md = malloc(sizeof *md);
    CHECK(dnnl_memory_desc_init_by_tag(md, nd, dims, dt, dnnl_format_tag_any)); return md;
}
#endif

static dnnl_memory_t alloc(dnnl_primitive_desc_t pd, dnnl_query_t what, dnnl_engine_t e) {
    md_t md = dnnl_primitive_desc_query_md(pd, what, 0);
    dnnl_memory_t m; CHECK(dnnl_memory_create(&m, md, e, DNNL_MEMORY_ALLOCATE));
    size_t bytes = dnnl_memory_desc_get_size(md);
    void *p; CHECK(dnnl_memory_get_data_handle(m, &p)); memset(p, 0, bytes);
    return m;
}

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    int bf16 = argc > 1 && strncmp(argv[1], "bf16", 4) == 0;
    int bf16out = argc > 1 && strcmp(argv[1], "bf16out") == 0;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    dnnl_data_type_t in = bf16 ? dnnl_bf16 : dnnl_f32, out = bf16out ? dnnl_bf16 : dnnl_f32;
    dnnl_engine_t e; CHECK(dnnl_engine_create(&e, dnnl_cpu, 0));
    dnnl_stream_t st; CHECK(dnnl_stream_create(&st, e, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    printf("# oneDNN %d.%d.%d %s\n", v->major, v->minor, v->patch, bf16out ? "bf16out" : bf16 ? "bf16" : "f32");
    for (size_t li = 0; li < sizeof layers / sizeof *layers; li++) {
        const layer_t *L = &layers[li];
        int oh, ow;
        if (L->transposed) { oh = (L->h - 1) * L->s - L->pt - L->pb + L->k; ow = (L->w - 1) * L->s - L->pl - L->pr + L->k; }
        else { oh = (L->h + L->pt + L->pb - L->k) / L->s + 1; ow = (L->w + L->pl + L->pr - L->k) / L->s + 1; }
        dnnl_dims_t xd = {L->n, L->ic, L->h, L->w}, wd = {L->oc, L->ic, L->k, L->k}, yd = {L->n, L->oc, oh, ow};
        dnnl_dims_t strides = {L->s, L->s}, dil = {0, 0}, pl = {L->pt, L->pl}, pr = {L->pb, L->pr};
        dnnl_alg_kind_t alg = L->transposed ? dnnl_deconvolution_direct : dnnl_convolution_direct;
        dnnl_primitive_desc_t pd[3];
        md_t x_in = make_md(4, xd, in), w_in = make_md(4, wd, in), y_out = make_md(4, yd, out);
        md_t x_out = make_md(4, xd, out), w_out = make_md(4, wd, dnnl_f32), y_in = make_md(4, yd, in);
#if DNNL_VERSION_MAJOR >= 3
        if (L->transposed) {
            CHECK(dnnl_deconvolution_forward_primitive_desc_create(&pd[0], e, dnnl_forward_training, alg, x_in, w_in, NULL, y_out, strides, dil, pl, pr, NULL));
            CHECK(dnnl_deconvolution_backward_data_primitive_desc_create(&pd[1], e, alg, x_out, w_in, y_in, strides, dil, pl, pr, pd[0], NULL));
            CHECK(dnnl_deconvolution_backward_weights_primitive_desc_create(&pd[2], e, alg, x_in, w_out, NULL, y_in, strides, dil, pl, pr, pd[0], NULL));
        } else {
            CHECK(dnnl_convolution_forward_primitive_desc_create(&pd[0], e, dnnl_forward_training, alg, x_in, w_in, NULL, y_out, strides, dil, pl, pr, NULL));
            CHECK(dnnl_convolution_backward_data_primitive_desc_create(&pd[1], e, alg, x_out, w_in, y_in, strides, dil, pl, pr, pd[0], NULL));
            CHECK(dnnl_convolution_backward_weights_primitive_desc_create(&pd[2], e, alg, x_in, w_out, NULL, y_in, strides, dil, pl, pr, pd[0], NULL));
        }
#else
        dnnl_convolution_desc_t d[3];
        if (L->transposed) {
            CHECK(dnnl_deconvolution_forward_desc_init(&d[0], dnnl_forward_training, alg, x_in, w_in, NULL, y_out, strides, pl, pr));
            CHECK(dnnl_deconvolution_backward_data_desc_init(&d[1], alg, x_out, w_in, y_in, strides, pl, pr));
            CHECK(dnnl_deconvolution_backward_weights_desc_init(&d[2], alg, x_in, w_out, NULL, y_in, strides, pl, pr));
        } else {
            CHECK(dnnl_convolution_forward_desc_init(&d[0], dnnl_forward_training, alg, x_in, w_in, NULL, y_out, strides, pl, pr));
            CHECK(dnnl_convolution_backward_data_desc_init(&d[1], alg, x_out, w_in, y_in, strides, pl, pr));
            CHECK(dnnl_convolution_backward_weights_desc_init(&d[2], alg, x_in, w_out, NULL, y_in, strides, pl, pr));
        }
        CHECK(dnnl_primitive_desc_create(&pd[0], &d[0], NULL, e, NULL));
        CHECK(dnnl_primitive_desc_create(&pd[1], &d[1], NULL, e, pd[0]));
        CHECK(dnnl_primitive_desc_create(&pd[2], &d[2], NULL, e, pd[0]));
#endif
        const char *pass[3] = {"forward", "backward-data", "backward-weights"};
        dnnl_query_t q[3][3] = {{dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
                                {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md},
                                {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md}};
        int args[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                          {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                          {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
        double macs = (double)L->n * L->oc * L->ic * L->k * L->k * (L->transposed ? L->h * L->w : oh * ow);
        for (int p = 0; p < 3; p++) {
            dnnl_primitive_t prim; CHECK(dnnl_primitive_create(&prim, pd[p]));
            dnnl_exec_arg_t a[4];
            for (int i = 0; i < 3; i++) { a[i].arg = args[p][i]; a[i].memory = alloc(pd[p], q[p][i], e); }
            int na = 3;
            md_t sp = dnnl_primitive_desc_query_md(pd[p], dnnl_query_scratchpad_md, 0);
            if (sp && dnnl_memory_desc_get_size(sp) > 0) { a[3].arg = DNNL_ARG_SCRATCHPAD; a[3].memory = alloc(pd[p], dnnl_query_scratchpad_md, e); na = 4; }
            const char *impl = "";
            CHECK(dnnl_primitive_desc_query(pd[p], dnnl_query_impl_info_str, 0, &impl));
            CHECK(dnnl_primitive_execute(prim, st, na, a)); CHECK(dnnl_stream_wait(st));
            double t0 = now(); CHECK(dnnl_primitive_execute(prim, st, na, a)); CHECK(dnnl_stream_wait(st));
            double once = now() - t0; if (once < 1e-6) once = 1e-6;
            int iters = (int)(0.05 / once) + 1;
            double times[64]; if (rounds > 64) rounds = 64;
            for (int r = 0; r < rounds; r++) {
                double t = now();
                for (int i = 0; i < iters; i++) CHECK(dnnl_primitive_execute(prim, st, na, a));
                CHECK(dnnl_stream_wait(st));
                times[r] = (now() - t) / iters;
            }
            qsort(times, rounds, sizeof *times, cmp);
            double med = times[rounds / 2];
            printf("%s\t%s\t%.4f\t%.1f\t%s\n", L->name, pass[p], med * 1e3, 2 * macs / med / 1e9, impl);
            fflush(stdout);
            for (int i = 0; i < na; i++) dnnl_memory_destroy(a[i].memory);
            dnnl_primitive_destroy(prim);
        }
        for (int p = 0; p < 3; p++) dnnl_primitive_desc_destroy(pd[p]);
    }
    return 0;
}
