/* Keeps a stage library valid while the stage has only its command file. */
typedef int eidf_empty_translation_unit;
