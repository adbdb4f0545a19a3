/* libsipnat fuzzing - replay: feed files (or every file of directories)
 * to a harness's LLVMFuzzerTestOneInput() without libFuzzer, so that make
 * check runs the committed corpora and crash inputs through every
 * harness with the ordinary compiler (and under the sanitizers in CI). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned replayed;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (!f) {
        perror(path);
        return -1;
    }
    do {
        if (n == cap) {
            uint8_t *b = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (!b) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    replayed++;
    return 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    int r = 0;

    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    d = opendir(path);
    if (!d) {
        perror(path);
        return -1;
    }
    while ((e = readdir(d))) {
        char **more;
        if (e->d_name[0] == '.')
            continue;
        more = realloc(names, (n + 1) * sizeof *names);
        if (!more)
            break;
        names = more;
        names[n] = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!names[n])
            break;
        sprintf(names[n++], "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, compare);   /* the same order each run */
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            r = replay(names[i]);
        free(names[i]);
    }
    free(names);
    return r;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (replay(argv[i]) < 0)
            return 1;
    printf("%s: %u inputs replayed\n", argc > 0 ? argv[0] : "replay", replayed);
    return 0;
}
