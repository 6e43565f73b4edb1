/* The SSE-C refinement objective (tl_etf.h). The matrices are tiny (d x classes, a few thousand entries)
   and the objective runs once per Adam step of a construction, so it is serial and in double: the
   cosines near -1/(C-1) and the acos derivative 1/sqrt(1 - y^2) lose little to rounding. */
#include "tl_internal.h"
#include "../include/tl_etf.h"

#include <math.h>

int tl_etf_angle_objective(double *loss, float *grad, const float *m, tl_size d, tl_size classes, double norm, double limit) {
    TL_CHECK_PTR("tl_etf_angle_objective", loss);
    TL_CHECK_PTR("tl_etf_angle_objective", grad);
    TL_CHECK_PTR("tl_etf_angle_objective", m);
    TL_CHECK_POS("tl_etf_angle_objective", d);
    TL_CHECK("tl_etf_angle_objective", classes >= 2, "tl_etf_angle_objective: classes must be >= 2, got %td", classes);
    TL_CHECK("tl_etf_angle_objective", isfinite(norm), "tl_etf_angle_objective: norm must be finite, got %g", norm);
    TL_CHECK("tl_etf_angle_objective", limit > 0.0 && limit < 1.0, "tl_etf_angle_objective: limit must be in (0, 1), got %g", limit);
    const tl_size c_count = classes;
    const size_t cells = (size_t)d * (size_t)c_count;
    double *unit = tl_alloc(cells * sizeof(double));
    double *g = tl_alloc(cells * sizeof(double));
    double *length = tl_alloc((size_t)c_count * sizeof(double));
    if (!unit || !g || !length) {
        tl_free(unit); tl_free(g); tl_free(length);
        return tl_fail(TL_ERR_OUT_OF_MEMORY, "tl_etf_angle_objective: no memory for %td x %td", d, classes);
    }

    /* Column norms, unit columns and the norm term with its gradient 2 (||m_c|| - norm) m_c / ||m_c||. */
    double total = 0.0;
    for (tl_size c = 0; c < c_count; c++) {
        double s = 0.0;
        for (tl_size i = 0; i < d; i++) s += (double)m[i * c_count + c] * (double)m[i * c_count + c];
        const double len = sqrt(s);
        if (!(len > 0.0) || !isfinite(len)) {
            tl_free(unit); tl_free(g); tl_free(length);
            return tl_fail(TL_ERR_NUMERIC, "tl_etf_angle_objective: column %td has norm %g (zero or not finite)", c, len);
        }
        length[c] = len;
        total += (len - norm) * (len - norm);
        for (tl_size i = 0; i < d; i++) {
            unit[i * c_count + c] = (double)m[i * c_count + c] / len;
            g[i * c_count + c] = 2.0 * (len - norm) * unit[i * c_count + c];
        }
    }

    /* Angle term: x_c = max_{j != c} u_c . u_j at j*; d(-acos(y)/C)/dy = 1 / (C sqrt(1 - y^2)), and
       d(u_c . u_j)/dm_c = (u_j - x u_c) / ||m_c|| (symmetrically for m_j). */
    for (tl_size c = 0; c < c_count; c++) {
        double best = -INFINITY;
        tl_size arg = 0;
        for (tl_size j = 0; j < c_count; j++) {
            if (j == c) continue;
            double dot = 0.0;
            for (tl_size i = 0; i < d; i++) dot += unit[i * c_count + c] * unit[i * c_count + j];
            if (dot > best) { best = dot; arg = j; }
        }
        const double y = fmin(fmax(best, -limit), limit);
        total -= acos(y) / (double)c_count;
        if (best < -limit || best > limit) continue;
        const double coef = 1.0 / ((double)c_count * sqrt(1.0 - y * y));
        for (tl_size i = 0; i < d; i++) {
            const double uc = unit[i * c_count + c], uj = unit[i * c_count + arg];
            g[i * c_count + c] += coef * (uj - best * uc) / length[c];
            g[i * c_count + arg] += coef * (uc - best * uj) / length[arg];
        }
    }
    for (size_t k = 0; k < cells; k++) grad[k] = (float)g[k];
    *loss = total;
    tl_free(unit); tl_free(g); tl_free(length);
    return TL_OK;
}
