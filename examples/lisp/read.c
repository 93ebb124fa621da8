/* read.c — the reader: text to data. Numbers, strings ("..." with \n, \"
 * and \\), symbols, lists with an optional dotted tail, 'x for (quote x),
 * and ; comments to the end of the line. */
#include "lisp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static ALLOCATES void read_datum(struct lisp *L, const char **text,
                                 gc_ref *out);

static void skip_space(const char **text) {
  const char *p = *text;
  for (;;) {
    while (isspace((unsigned char)*p))
      p++;
    if (*p != ';')
      break;
    while (*p && *p != '\n')
      p++;
  }
  *text = p;
}

static bool is_delimiter(char c) {
  return c == '\0' || isspace((unsigned char)c) || c == '(' || c == ')' ||
         c == '"' || c == ';' || c == '\'';
}

/* Reads "(...". *text is past the "(". The list is built front to back; its
 * head, its last pair and the item being read are rooted, since reading the
 * next item allocates. */
static ALLOCATES void read_list(struct lisp *L, const char **text,
                                gc_ref *out) {
  gc_heap *h = L->heap;
  gc_scope scope = gc_scope_open(h);
  gc_ref *head = gc_root(h, NULL);
  gc_ref *last = gc_root(h, NULL);
  gc_ref *item = gc_root(h, NULL);
  for (;;) {
    skip_space(text);
    char c = **text;
    if (c == '\0')
      lisp_error(L, "read: a list is not closed");
    if (c == ')') {
      (*text)++;
      break;
    }
    if (c == '.' && is_delimiter((*text)[1])) {
      if (!*last)
        lisp_error(L, "read: a dot with nothing before it");
      (*text)++;
      read_datum(L, text, item);
      lisp_set_cdr(L, *last, *item);
      skip_space(text);
      if (**text != ')')
        lisp_error(L, "read: expected ) after the dotted tail");
      (*text)++;
      break;
    }
    read_datum(L, text, item);
    *item = lisp_cons(L, *item, NULL);
    if (*last)
      lisp_set_cdr(L, *last, *item);
    else
      *head = *item;
    *last = *item;
  }
  *out = *head;
  gc_scope_close(h, scope);
}

static ALLOCATES void read_string(struct lisp *L, const char **text,
                                  gc_ref *out) {
  const char *p = *text; /* past the opening quote */
  size_t cap = 64, len = 0;
  char *buf = malloc(cap);
  if (!buf)
    lisp_error(L, "read: out of memory");
  for (; *p != '"'; p++) {
    if (*p == '\0') {
      free(buf);
      lisp_error(L, "read: a string is not closed");
    }
    char c = *p;
    if (c == '\\' && p[1]) {
      c = *++p;
      if (c == 'n')
        c = '\n';
    }
    if (len == cap) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger) {
        free(buf);
        lisp_error(L, "read: out of memory");
      }
      buf = bigger;
    }
    buf[len++] = c;
  }
  *text = p + 1;
  *out = lisp_string(L, buf, len);
  free(buf);
}

static ALLOCATES void read_atom(struct lisp *L, const char **text,
                                gc_ref *out) {
  const char *start = *text, *end = start;
  while (!is_delimiter(*end))
    end++;
  *text = end;
  size_t len = (size_t)(end - start);
  const char *digits = start + (len > 1 && (*start == '-' || *start == '+'));
  bool number = digits < end;
  for (const char *p = digits; p < end; p++)
    number = number && isdigit((unsigned char)*p);
  if (number) {
    char buf[32];
    if (len >= sizeof buf)
      lisp_error(L, "read: number too long: %.*s", (int)len, start);
    memcpy(buf, start, len);
    buf[len] = '\0';
    *out = lisp_number(L, strtoll(buf, NULL, 10));
  } else {
    *out = lisp_intern(L, start, len);
  }
}

static ALLOCATES void read_datum(struct lisp *L, const char **text,
                                 gc_ref *out) {
  skip_space(text);
  char c = **text;
  if (c == '\0')
    lisp_error(L, "read: unexpected end of text");
  if (c == ')')
    lisp_error(L, "read: unexpected )");
  if (c == '(') {
    (*text)++;
    read_list(L, text, out);
  } else if (c == '"') {
    (*text)++;
    read_string(L, text, out);
  } else if (c == '\'') {
    (*text)++;
    read_datum(L, text, out); /* out is a root slot: it survives the conses */
    *out = lisp_cons(L, *out, NULL);
    *out = lisp_cons(L, *L->s_quote, *out);
  } else {
    read_atom(L, text, out);
  }
}

ALLOCATES bool lisp_read(struct lisp *L, const char **text, gc_ref *datum) {
  skip_space(text);
  if (**text == '\0')
    return false;
  read_datum(L, text, datum);
  return true;
}
