# ui.mk - the web dashboard (SPEC §16): ui/*.{html,css,js,svg} compiled into
# the library by mk/ui_embed.py (no download, no bundler), served at /ui.
UI_FILES := $(sort $(wildcard ui/*.html ui/*.css ui/*.js ui/*.svg))
UI_C     := $(BUILD)/gen/ui_files.c
UI_OBJ   := $(BUILD)/obj/gen/ui_files.o

$(UI_C): $(UI_FILES) mk/ui_embed.py
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@",true)
	$(Q)$(PYTHON) mk/ui_embed.py $@ $(UI_FILES)

$(UI_OBJ): $(UI_C)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

# the archive's recipe packs all its prerequisites ($^)
$(LIB): $(UI_OBJ)
