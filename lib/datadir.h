/* datadir: where models and tokenizers converted by the build live. */
#ifndef DS_DATADIR_H
#define DS_DATADIR_H

/*
 * The full path of data file name, in the first of: $DS_DATA_DIR, the
 * build tree's data/ (if the file is there), the installed data
 * directory.  Returns a string the caller frees.  The file need not exist:
 * opening it tells.
 */
char	*datadir_path(const char *name);

#endif
